"""Keys, roles and per-collection permissions, audit, limits, upload names and error bodies."""

from __future__ import annotations

import pytest

from ragloom.api.errors import ApiError
from ragloom.api.keys import KeyStore, parse_grants
from ragloom.api.limits import inside, safe_filename
from ragloom.core.errors import ConfigError
from tests.unit.api_helpers import client, fill, key


@pytest.fixture
def api(settings):
    fill(settings)
    with client(settings) as c:
        yield c


def test_keys_are_hashed_verified_and_revocable(tmp_path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite")
    plain, info = store.create("ci", "user", {"docs": "write"})
    # Every byte SQLite wrote: the database file and its write-ahead log (WAL mode).
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("keys.sqlite*"))
    assert info.id.encode() in raw  # the check below reads the place the key's row is in
    # The secret is URL-safe base64 and may itself contain "_": cut at the id, not at every "_".
    secret = plain.split("_", 2)[2]
    assert plain.encode() not in raw and secret.encode() not in raw
    who = store.verify(plain)
    assert who and who.can("docs", "read") and who.can("docs", "write")
    assert not who.can("docs", "admin") and not who.can("other", "read")
    assert store.verify(plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
    assert store.verify("rl_000000000000_" + "x" * 43) is None and store.verify("nonsense") is None
    assert store.revoke(info.id) and store.verify(plain) is None and not store.revoke(info.id)
    store.close()


def test_grants_are_checked() -> None:
    assert parse_grants(["docs=read", "*=write"]) == {"docs": "read", "*": "write"}
    # A later, weaker grant never takes a right away.
    assert parse_grants(["docs=write", "docs=read"]) == {"docs": "write"}
    assert parse_grants(["docs=read", "docs=admin", "docs=write"]) == {"docs": "admin"}
    with pytest.raises(ConfigError, match="bad permission"):
        parse_grants(["docs=owner"])


def test_every_route_needs_a_key(api) -> None:
    for method, path in [("get", "/collections"), ("post", "/ask"), ("get", "/traces"),
                         ("get", "/prompts"), ("get", "/v1/models"), ("get", "/audit")]:
        r = getattr(api, method)(path)
        assert r.status_code == 401, path
        assert r.json()["fix"] and "API key" in str(r.json()["error"])
    r = api.get("/collections", headers={"Authorization": "Bearer rl_nope"})
    assert r.status_code == 401 and r.json()["error"] == "invalid or revoked API key"
    assert api.get("/health").status_code == 200


def test_collection_permissions(api, settings) -> None:
    reader = key(settings, sample="read")
    stranger = key(settings, other="admin")
    assert [c["name"] for c in api.get("/collections", headers=reader).json()] == ["sample"]
    assert api.get("/collections", headers=stranger).json() == []
    r = api.post("/ask", json={"question": "Oolong temperature?", "collection": "sample"},
                 headers=stranger)
    assert r.status_code == 403 and "may not read collection 'sample'" in r.json()["error"]
    assert api.post("/ask", json={"question": "Oolong temperature?", "collection": "sample",
                                  "graph": "simple"}, headers=reader).status_code == 200
    assert api.delete("/collections/sample", headers=reader).status_code == 403
    assert api.post("/collections", json={"name": "newcol"}, headers=reader).status_code == 403
    writer = key(settings, newcol="write")
    assert api.post("/collections", json={"name": "newcol"}, headers=writer).status_code == 201
    assert api.post("/prompts/answer/versions", headers=writer, json={
        "messages": [{"role": "user", "content": "{{ context }} {{ question }}"}],
        "message": "x"}).status_code == 403


def test_audit_records_who_asked_what_and_who_changed_prompts(api, settings) -> None:
    admin = key(settings, "admin")
    reader = key(settings, sample="read")
    api.post("/ask", json={"question": "What about Oolong?", "collection": "sample",
                           "graph": "simple"}, headers=reader)
    r = api.post("/prompts/answer/versions", headers=admin, json={
        "messages": [{"role": "system", "content": "Answer from the documents only."},
                     {"role": "user", "content": "{{ context }}\n\nQ: {{ question }}"}],
        "message": "shorter", "label": "staging"})
    assert r.status_code == 201, r.text
    log = api.get("/audit", headers=admin).json()
    actions = [(e["action"], e["key_name"], e["collection"], e["target"]) for e in log]
    assert ("prompt.label", "test-admin", None, "answer:staging") in actions
    assert ("prompt.create", "test-admin", None, r.json()["ref"]) in actions
    ask = next(e for e in log if e["action"] == "ask")
    assert ask["key_name"] == "test-user" and ask["collection"] == "sample"
    assert ask["detail"]["question"] == "What about Oolong?" and ask["target"]
    assert api.get("/audit", headers=reader).status_code == 403
    token = admin["Authorization"].split()[1]
    raw = b"".join(p.read_bytes() for p in (settings.home / "api").glob("*.sqlite*"))
    assert token.encode() not in raw  # no secret in the audit log or key store


@pytest.mark.parametrize("raw, clean", [
    ("report.pdf", "report.pdf"), ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\..\\evil.docx", "evil.docx"), ("a b;rm -rf.txt", "a b_rm -rf.txt"),
    (".hidden", "hidden"), ("ｆｕｌｌ.md", "full.md"), ("x" * 300 + ".pdf", "x" * 156 + ".pdf"),
])
def test_upload_names_are_cleaned(raw, clean) -> None:
    assert safe_filename(raw) == clean


@pytest.mark.parametrize("raw", ["", "..", "/", "...", "\\..\\"])
def test_unusable_upload_names_are_refused(raw) -> None:
    with pytest.raises(ApiError):
        safe_filename(raw)


def test_inside_refuses_what_escapes(tmp_path) -> None:
    assert inside(tmp_path, "a.txt") == (tmp_path / "a.txt").resolve()
    with pytest.raises(ApiError):
        inside(tmp_path, "../a.txt")


def test_body_limits_and_cors_closed(settings) -> None:
    settings.api.max_body_kb = 4
    with client(settings) as api:
        admin = key(settings, "admin")
        r = api.post("/ask", content=b'{"question": "' + b"x" * 8000 + b'"}', headers={
            **admin, "Content-Type": "application/json"})
        assert r.status_code == 413 and "over 4 KiB" in r.json()["error"]
        r = api.options("/ask", headers={"Origin": "https://evil.example",
                                         "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in r.headers


def test_cors_opens_for_configured_origins(settings) -> None:
    settings.api.cors_origins = ["https://app.example"]
    with client(settings) as api:
        r = api.options("/ask", headers={"Origin": "https://app.example",
                                         "Access-Control-Request-Method": "POST"})
        assert r.headers["access-control-allow-origin"] == "https://app.example"
