"""ragloom's HTTP service: FastAPI app, API keys, audit log, limits, OpenAI-compatible chat."""

from ragloom.api.app import create_app

__all__ = ["create_app"]
