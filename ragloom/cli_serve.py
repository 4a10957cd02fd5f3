"""`ragloom serve` (the HTTP API under uvicorn) and `ragloom keys` (create, list, revoke)."""

from __future__ import annotations

import datetime
import ipaddress
import logging
from typing import Annotated

import typer

from ragloom.console import err, out, settings_of
from ragloom.core.errors import ConfigError
from ragloom.core.settings import Settings

keys_app = typer.Typer(help="API keys for `ragloom serve`: create, list, revoke.",
                       no_args_is_help=True)
log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0: every one).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes (each a full server).")] = 1,
    no_auth: Annotated[bool, typer.Option(
        "--no-auth", help="No API keys: single-user use, allowed on a loopback host only.")
                       ] = False,
    cors: Annotated[list[str] | None, typer.Option(
        help="Allow browser calls from this origin (repeatable). Closed by default.")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs, OpenAI-compatible chat at /v1)."""
    import uvicorn

    from ragloom.api.keys import key_store

    settings = settings_of(ctx)
    if no_auth and not is_loopback(host):
        raise ConfigError(f"--no-auth is refused on {host}: anyone on the network could read "
                          "every collection", fix="listen on 127.0.0.1, or create keys with "
                          "`ragloom keys create --admin`")
    updates = {"auth": not no_auth and settings.api.auth}
    if not updates["auth"] and not is_loopback(host):
        raise ConfigError("api.auth = false is refused on a non-loopback host",
                          fix="listen on 127.0.0.1, or turn auth on")
    if cors:
        updates["cors_origins"] = list(cors)
    settings = settings.model_copy(update={"api": settings.api.model_copy(update=updates)})
    if settings.api.auth:
        store = key_store(settings)
        if store.count_active() == 0:
            err.print("no API keys yet: every request will be refused. Create one with "
                      "`ragloom keys create --admin --name me`", highlight=False)
        store.close()
    err.print(f"ragloom API on http://{host}:{port} (docs at /docs; "
              f"{'keys required' if settings.api.auth else 'no auth, loopback only'})",
              highlight=False)
    # No access log: it would show every client's address and path; audit covers who did what.
    # Headers over api.max_header_kb get the API's 431 (api/limits.py); h11 (used when httptools
    # is missing) would otherwise cut in at 16 KiB with a bare 400, so its own stop is far above.
    options = {"host": host, "port": port, "log_level": "warning", "access_log": False,
               "timeout_graceful_shutdown": 10,
               "h11_max_incomplete_event_size": max(1 << 20, settings.api.max_header_kb * 4096)}
    if workers == 1:
        from ragloom.api.app import create_app

        uvicorn.run(create_app(settings), **options)
    else:
        _export(settings)
        uvicorn.run("ragloom.api.server:app", workers=workers, **options)


def _export(settings: Settings) -> None:
    """Hand the resolved settings to the worker processes, which import api.server."""
    import json
    import os

    from pydantic import SecretStr

    def reveal(value: object) -> object:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return str(value)

    os.environ["RAGLOOM_SERVE_SETTINGS"] = json.dumps(settings.model_dump(), default=reveal)


@keys_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Whose or what key it is, e.g. ci or alice.")],
    admin: Annotated[bool, typer.Option("--admin", help="Everything: keys, prompts, all "
                                        "collections.")] = False,
    grant: Annotated[list[str] | None, typer.Option(
        help="COLLECTION=read|write|admin, or *=LEVEL for all (repeatable).")] = None,
) -> None:
    """Create a key and print it ONCE (only its hash is stored)."""
    from ragloom.api.keys import describe_grants, key_store, parse_grants

    if not admin and not grant:
        raise ConfigError("a user key needs at least one --grant",
                          fix="e.g. --grant docs=read, or --admin for an admin key")
    store = key_store(settings_of(ctx))
    plain, info = store.create(name, "admin" if admin else "user", parse_grants(grant or []))
    store.close()
    out.print(plain, highlight=False, markup=False)
    err.print(f"created key {info.id} ({info.role}: {describe_grants(info.role, info.grants)}) "
              f"for {info.name}; store it now, it is not shown again", highlight=False)


@keys_app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """Keys by id, name, role and permissions (never the key itself)."""
    from ragloom.api.keys import describe_grants, key_store

    store = key_store(settings_of(ctx))
    for k in store.list():
        when = datetime.datetime.fromtimestamp(k.created).strftime("%Y-%m-%d %H:%M")
        state = "revoked" if k.revoked else "active"
        grants = describe_grants(k.role, k.grants)  # effective rights, not the flags given
        out.print(f"{k.id}  {when}  {state:7}  {k.role:5}  {k.name:16} {grants}",
                  highlight=False, markup=False)
    store.close()


@keys_app.command("revoke")
def revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="Key id (see list).")]
           ) -> None:
    """Revoke a key: it is refused from the next request on."""
    from ragloom.api.keys import key_store

    store = key_store(settings_of(ctx))
    done = store.revoke(key_id)
    store.close()
    if not done:
        raise ConfigError(f"no active key '{key_id}'", fix="see `ragloom keys list`")
    out.print(f"revoked {key_id}", highlight=False)
