"""The ASGI app uvicorn imports (``ragloom.api.server:app``), built from the settings `ragloom serve`
resolved (passed through the environment so that every worker process builds the same app)."""

from __future__ import annotations

import logging
import os

from ragloom.api.app import create_app
from ragloom.core.settings import Settings, load_settings


def _settings() -> Settings:
    given = os.environ.get("RAGLOOM_SERVE_SETTINGS")
    return Settings.model_validate_json(given) if given else load_settings()


logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
app = create_app(_settings())
