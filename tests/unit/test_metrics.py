"""/metrics: Prometheus' text format, parsed with prometheus-client's own parser, counting what
the API did; an admin key by default, open or off by setting."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from ragloom.core.settings import load_settings
from tests.unit.api_helpers import client, fill, key


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_answers_steps_and_ingest(settings) -> None:
    fill(settings)
    with client(settings) as api:
        admin = key(settings, "admin")
        before = _samples(api.get("/metrics", headers=admin).text)
        for _ in range(2):
            r = api.post("/ask", headers=admin, json={
                "question": "At what temperature do I brew the Oolong?", "collection": "sample",
                "graph": "simple"})
            assert r.status_code == 200, r.text
        assert api.get("/collections/nope/documents/x", headers=admin).status_code == 404
        assert api.get("/no/such/path/abc123", headers=admin).status_code == 404
        r = api.get("/metrics", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = _samples(r.text)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("ragloom_http_requests_total", method="POST", route="/ask", status="200") == 2
    assert grew("ragloom_answers_total", graph="simple", outcome="answered") == 2
    assert grew("ragloom_answer_seconds_count", graph="simple") == 2
    assert grew("ragloom_step_seconds_count", step="retrieve_documents") == 2
    assert grew("ragloom_model_calls_total", model="local/qwen2.5-coder-0.5b", outcome="ok") == 2
    assert _value(after, "ragloom_ingest_files_total", outcome="ingested") >= 1
    # An unknown URL is one "unmatched" series, never a series per path.
    assert grew("ragloom_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert not any("abc123" in dict(labels).get("route", "") for _, labels in after)
    assert ("ragloom_questions_in_flight", ()) in after


def test_metrics_need_an_admin_key_unless_open_and_can_be_off(tmp_path) -> None:
    base = {"home": tmp_path / "h", "embedding": "local/fake-bow"}
    with client(load_settings(**base)) as api:
        assert api.get("/metrics").status_code == 401
        assert api.get("/metrics", headers=key(load_settings(**base), "user")).status_code == 403
    with client(load_settings(**base, api={"metrics": "open"})) as api:
        assert api.get("/metrics").status_code == 200
    with client(load_settings(**base, api={"metrics": "off"})) as api:
        assert api.get("/metrics", headers=key(load_settings(**base), "admin")).status_code == 404
