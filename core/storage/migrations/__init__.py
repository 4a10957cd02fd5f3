"""The PostgreSQL schema's versions (Alembic), applied by ``ragloom db upgrade``.

Alembic runs from code (no alembic.ini): the scripts are package data under ``versions/``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ragloom.core.errors import ConfigError

HERE = Path(__file__).parent


def _config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head() -> str:
    """The newest schema version the code knows."""
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current(engine: Engine) -> str | None:
    """The database's schema version; None when ragloom never upgraded it."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, to: str = "head") -> tuple[str | None, str | None]:
    """Apply every migration up to ``to``; (version before, version after)."""
    before = current(engine)
    command.upgrade(_config(engine), to)
    return before, current(engine)


def require_current(engine: Engine, url: str) -> None:
    at, want = current(engine), head()
    if at != want:
        where = engine.url.render_as_string(hide_password=True)
        raise ConfigError(
            f"the database at {where} has schema version {at or 'none'}, this ragloom needs "
            f"{want}", fix="run `ragloom db upgrade` once (it is safe to re-run), then start again")
