"""`ragloom keys` and the refusals of `ragloom serve` (without starting a server)."""

from __future__ import annotations

from typer.testing import CliRunner

from ragloom.api.keys import KeyStore, keys_path
from ragloom.cli_serve import is_loopback, keys_app, serve


def _keys(settings, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(keys_app, list(args), obj={"settings": settings})


def test_create_list_revoke(settings) -> None:
    made = _keys(settings, "create", "--name", "ana", "--grant", "docs=write", "--grant", "*=read")
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[0]
    store = KeyStore(keys_path(settings.home))
    who = store.verify(key)
    assert who and who.grants == {"docs": "write", "*": "read"} and who.role == "user"
    listed = _keys(settings, "list").stdout
    assert who.id in listed and "docs=write" in listed and key not in listed
    assert _keys(settings, "revoke", who.id).exit_code == 0
    assert store.verify(key) is None and "revoked" in _keys(settings, "list").stdout
    store.close()


def test_grants_merge_to_the_strongest_and_the_listing_shows_the_rights(settings) -> None:
    made = _keys(settings, "create", "--name", "c", "--grant", "c=write", "--grant", "c=read",
                 "--grant", "d=read", "--grant", "d=admin")
    assert made.exit_code == 0, made.output
    store = KeyStore(keys_path(settings.home))
    who = store.verify(made.stdout.strip().splitlines()[0])
    store.close()
    assert who and who.grants == {"c": "write", "d": "admin"}
    assert who.can("c", "write") and who.can("c", "read") and not who.can("c", "admin")
    listed = _keys(settings, "list").stdout
    assert "c=write (read, write)" in listed and "d=admin (read, write, admin)" in listed
    assert "c=read" not in listed


def test_bad_key_requests_are_refused(settings) -> None:
    assert "at least one --grant" in str(_keys(settings, "create", "--name", "x").exception)
    assert "bad permission" in str(_keys(settings, "create", "--name", "x", "--grant",
                                         "docs=owner").exception)
    assert "no active key" in str(_keys(settings, "revoke", "000000000000").exception)


def test_no_auth_is_refused_off_loopback(settings) -> None:
    import typer

    app = typer.Typer()
    app.command()(serve)
    result = CliRunner().invoke(app, ["--host", "0.0.0.0", "--no-auth"],
                                obj={"settings": settings})
    assert result.exit_code != 0 and "--no-auth is refused on 0.0.0.0" in str(result.exception)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("box")
