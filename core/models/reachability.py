"""Turn connection failures of any provider into one readable ModelUnavailableError."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from ragloom.core import metrics
from ragloom.core.errors import ModelUnavailableError, StoreError
from ragloom.core.models.cancel import AnswerStopped
from ragloom.core.models.spec import ModelSpec
from ragloom.core.settings import Settings


def host_of(spec: ModelSpec, settings: Settings) -> str:
    if spec.provider == "ollama":
        return settings.ollama.host
    if spec.provider == "openai":
        return settings.openai.base_url or "https://api.openai.com/v1"
    return "in-process"


def _fix_for(spec: ModelSpec, settings: Settings) -> str:
    if spec.provider == "ollama":
        return (f"start Ollama (`ollama serve`) and `ollama pull {spec.model}`, or set "
                "RAGLOOM_OLLAMA__HOST to where it runs")
    return ("start the server or correct RAGLOOM_OPENAI__BASE_URL / RAGLOOM_OPENAI__API_KEY, "
            f"and check that it serves '{spec.model}'")


def _is_connection_error(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, httpx.TransportError | ConnectionError | openai.APIConnectionError):
        return True
    return bool(exc.__cause__ and _is_connection_error(exc.__cause__))


def _is_missing_model(exc: BaseException) -> bool:
    import openai

    status = getattr(exc, "status_code", None)
    return status == 404 or isinstance(exc, openai.NotFoundError)


class ModelTimeoutError(ModelUnavailableError):
    """A model call timed out or the host answered with a server error: worth retrying."""


def is_transient(exc: BaseException) -> bool:
    """Errors a retry with backoff may cure: timeouts, 5xx, rate limits (not outages)."""
    if isinstance(exc, AnswerStopped):  # the caller stopped it: never retried
        return False
    import openai

    if isinstance(exc, ModelTimeoutError | TimeoutError | httpx.TimeoutException):
        return True
    if isinstance(exc, openai.APITimeoutError | openai.RateLimitError | openai.InternalServerError):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status >= 500 or status == 429)


@contextlib.contextmanager
def model_call(spec: ModelSpec, settings: Settings, role: str) -> Iterator[None]:
    """Wrap a model call; unreachable hosts and missing models become one clear error."""
    try:
        yield
    except (ModelUnavailableError, StoreError):  # a store outage is not the model's fault
        raise
    except AnswerStopped:  # the caller's choice, not a model error
        metrics.model_calls.labels(str(spec), "stopped").inc()
        raise
    except Exception as exc:
        metrics.model_calls.labels(str(spec), "error").inc()
        if spec.provider == "local":
            raise
        if is_transient(exc):
            raise ModelTimeoutError(
                f"{spec.provider} at {host_of(spec, settings)} timed out or failed ({exc})",
                subject=f"{role} model {spec}",
                fix="retry later, raise the timeout setting, or use a faster model") from exc
        if _is_connection_error(exc):
            what = f"cannot reach {spec.provider} at {host_of(spec, settings)}"
        elif _is_missing_model(exc):
            what = f"{spec.provider} at {host_of(spec, settings)} does not serve this model"
        else:
            raise
        raise ModelUnavailableError(what, subject=f"{role} model {spec}",
                                    fix=_fix_for(spec, settings)) from exc
