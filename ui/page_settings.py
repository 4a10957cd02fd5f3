"""Settings & health: models per role, endpoints, edit for this session or save to ragloom.toml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st
from pydantic import SecretStr

from ragloom.agents.graphs import graph_names
from ragloom.core.settings import Settings
from ragloom.ui.state import set_settings, settings, shown_errors

HEALTH_KEY = "ragloom_health"


def to_toml(values: dict[str, Any]) -> str:
    """A ragloom.toml for JSON-like settings (scalars at top, one table per section).

    Strings are written as JSON strings, which are valid TOML basic strings.
    """
    top, sections = [], []
    for key, value in values.items():
        if isinstance(value, dict):
            body = [f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None]
            if body:
                sections.append("\n".join([f"[{key}]", *body]))
        elif value is not None:
            top.append(f"{key} = {_toml_value(value)}")
    return "\n\n".join(["\n".join(top), *sections]).strip() + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def toml_for(s: Settings) -> str:
    """The settings that differ from the defaults, without secrets (those belong in the env)."""
    changed = s.model_dump(mode="json", exclude_defaults=True, exclude={"model_cache"})
    changed.get("openai", {}).pop("api_key", None)
    return to_toml(changed)


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in changes.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


def apply_changes(s: Settings, changes: dict[str, Any]) -> Settings:
    """New settings with ``changes`` applied, validated like any other source (errors raise)."""
    from ragloom.core.models.spec import ModelSpec

    new = type(s).model_validate(_merge(s.model_dump(), changes))
    for role in ("chat", "embedding", "judge"):
        ModelSpec.parse(getattr(new, role))  # a ConfigError names the role's bad value and the fix
    return new


def _form(s: Settings) -> dict[str, Any] | None:
    with st.form("settings-form"):
        st.markdown("**Models per role** (`provider/model`: `local/…`, `ollama/…`, `openai/…`)")
        c1, c2, c3 = st.columns(3)
        chat = c1.text_input("Chat", s.chat)
        embedding = c2.text_input("Embedding", s.embedding)
        judge = c3.text_input("Evaluation judge", s.judge)
        st.markdown("**Endpoints**")
        c1, c2 = st.columns(2)
        ollama = c1.text_input("Ollama host", s.ollama.host)
        num_ctx = c1.number_input("Ollama num_ctx", 512, 262144, s.ollama.num_ctx, step=512)
        base_url = c2.text_input("OpenAI-compatible base URL (empty = api.openai.com)",
                                 s.openai.base_url or "")
        key = c2.text_input("OpenAI API key (kept in this session only)", type="password",
                            placeholder="set" if s.openai.api_key else "not set")
        c1, c2, c3 = st.columns(3)
        mode = c1.selectbox("Chroma mode", ["embedded", "server"],
                            index=["embedded", "server"].index(s.chroma.mode))
        host = c2.text_input("Chroma host", s.chroma.host)
        port = c3.number_input("Chroma port", 1, 65535, s.chroma.port)
        st.markdown("**Answering**")
        c1, c2, c3 = st.columns(3)
        graphs = graph_names()
        graph = c1.selectbox("Default graph", graphs, index=graphs.index(s.agent.graph)
                             if s.agent.graph in graphs else 0)
        top_k = c2.number_input("Chunks per answer (top_k)", 1, 100, s.retrieval.top_k)
        modes = ["hybrid", "dense", "bm25"]
        rmode = c3.selectbox("Retrieval", modes, index=modes.index(s.retrieval.mode))
        if not st.form_submit_button("Apply to this session", type="primary"):
            return None
    changes: dict[str, Any] = {
        "chat": chat.strip(), "embedding": embedding.strip(), "judge": judge.strip(),
        "ollama": {"host": ollama.strip(), "num_ctx": int(num_ctx)},
        "openai": {"base_url": base_url.strip() or None},
        "chroma": {"mode": mode, "host": host.strip(), "port": int(port)},
        "agent": {"graph": graph}, "retrieval": {"top_k": int(top_k), "mode": rmode}}
    if key:
        changes["openai"]["api_key"] = SecretStr(key)
    return changes


def _health(s: Settings) -> None:
    from ragloom.core.health import check_models
    from ragloom.retrieval.store import check_store

    if st.button("Run health checks", key="settings-health"):
        with st.spinner("Checking each model and the store…"), shown_errors("health check"):
            st.session_state[HEALTH_KEY] = [*check_models(s), check_store(s)]
    for check in st.session_state.get(HEALTH_KEY, []):
        if check.ok:
            st.success(f"**{check.component}** — {check.detail}", icon=":material/check_circle:")
        else:
            st.error(f"**{check.component}** — {check.detail}  \n**Fix:** {check.fix}",
                     icon=":material/error:")


def render() -> None:
    s = settings()
    st.title("Settings & health")
    config = Path("ragloom.toml")
    source = (f"`{config.resolve()}`" if config.is_file()
              else "no ragloom.toml (none in the working directory)")
    st.caption(f"Loaded from defaults < {source} < RAGLOOM_* environment. "
               f"Data directory: `{s.home.resolve()}`.")
    st.subheader("Health")
    _health(s)
    st.subheader("Settings")
    changes = _form(s)
    if changes is not None:
        with shown_errors("applying settings") as outcome:
            new = apply_changes(s, changes)
        if "error" not in outcome:
            set_settings(new)
            st.session_state.pop(HEALTH_KEY, None)
            st.success("Applied to this session. Save them to ragloom.toml to keep them.")
            s = new
    with st.expander("ragloom.toml for these settings (secrets excluded)"):
        text = toml_for(s)
        st.code(text, language="toml")
        st.download_button("Download ragloom.toml", text, file_name="ragloom.toml",
                           key="settings-download")
        path = Path("ragloom.toml")
        sure = (not path.exists()) or st.checkbox(f"Overwrite {path.resolve()}",
                                                  key="settings-overwrite")
        if st.button("Write ragloom.toml", key="settings-write", disabled=not sure):
            with shown_errors("writing ragloom.toml") as outcome:
                path.write_text(text)
            if "error" not in outcome:
                st.success(f"Wrote {path.resolve()}")
