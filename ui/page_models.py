"""Models: every model ragloom can use (embedded catalog, Ollama, an OpenAI-compatible server),
the model of each role (for this session or written to ragloom.toml), and Ollama pulls with
progress. The same hub as `ragloom models list/show/pull`."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ragloom.core.models.hub import HubModel, Listing, roles_using, size_text
from ragloom.core.settings import Settings
from ragloom.ui.state import set_settings, settings, shown_errors

LISTING_KEY = "ragloom_models_listing"
ROLES = {"chat": "Chat", "embedding": "Embedding", "judge": "Evaluation judge"}


def _listing(s: Settings, refresh: bool) -> Listing:
    from ragloom.core.models.hub import list_models

    if refresh or LISTING_KEY not in st.session_state:
        with st.spinner("Asking each provider for its models…"):
            st.session_state[LISTING_KEY] = list_models(s)
    return st.session_state[LISTING_KEY]  # type: ignore[no-any-return]


def _row(m: HubModel, s: Settings) -> dict[str, Any]:
    d = m.details
    facts = " · ".join(str(v) for v in (d.get("family"), d.get("parameters"),
                                          d.get("quantization")) if v)
    state = ("fetched" if m.installed else "not fetched") if m.provider == "local" else "served"
    return {"model": m.spec, "roles": ", ".join(m.roles) or "not stated",
            "size": size_text(m.size_bytes) or "—", "state": state, "details": facts or d.get("licence", "—"),
            "context": f"{d['context_length']:,}" if d.get("context_length") else "—",
            "in use as": ", ".join(roles_using(s, m.spec)) or "—",
            "source": m.source or "—"}


def _fits(m: HubModel, role: str) -> bool:
    wanted = "embedding" if role == "embedding" else "chat"
    return not m.roles or wanted in m.roles  # a server that does not say: offer it


def _pick_roles(s: Settings, models: list[HubModel]) -> dict[str, str]:
    picked = {}
    for col, (role, label) in zip(st.columns(len(ROLES)), ROLES.items(), strict=True):
        options = list(dict.fromkeys([getattr(s, role), *(m.spec for m in models
                                                           if _fits(m, role))]))
        picked[role] = col.selectbox(label, options, index=0, key=f"models-role-{role}")
    return picked


def _use(s: Settings, picked: dict[str, str]) -> None:
    from ragloom.core.config_file import CONFIG_FILE, set_in_config
    from ragloom.ui.page_settings import apply_changes

    changed = {r: v for r, v in picked.items() if getattr(s, r) != v}
    c1, c2 = st.columns(2)
    if c1.button("Use for this session", key="models-apply", disabled=not changed):
        with shown_errors("switching models") as outcome:
            new = apply_changes(s, changed)
        if "error" not in outcome:
            set_settings(new)
            st.success("Now answering with " + ", ".join(f"{r} `{v}`" for r, v in changed.items()))
    if c2.button(f"Write to {CONFIG_FILE}", key="models-write"):
        with shown_errors(f"writing {CONFIG_FILE}") as outcome:
            path = set_in_config(picked)
            new = apply_changes(s, changed) if changed else s
        if "error" not in outcome:
            set_settings(new)
            st.success(f"Wrote {', '.join(f'{r} = {v}' for r, v in picked.items())} to {path} "
                       "(the rest of the file is kept).")


def _pull(s: Settings) -> None:
    from ragloom.core.models.hub import PullProgress, pull_ollama

    c1, c2 = st.columns([3, 1])
    name = c1.text_input("Pull an Ollama model", key="models-pull-name",
                         placeholder="e.g. llama3.2:3b, qwen2.5:7b, nomic-embed-text")
    if not c2.button("Pull", key="models-pull", disabled=not name.strip()):
        return
    bar = st.progress(0.0, text=f"Pulling {name}…")

    def shown(p: PullProgress) -> None:
        share = min(p.completed / p.total, 1.0) if p.total and p.completed else 0.0
        done = f" · {p.completed / 1e6:,.0f} of {p.total / 1e6:,.0f} MB" if p.total else ""
        bar.progress(1.0 if p.status == "success" else share, text=f"{p.status}{done}")

    with shown_errors(f"pulling {name.strip()}") as outcome:
        pull_ollama(s, name.strip(), shown)
    if "error" not in outcome:
        st.success(f"Pulled `ollama/{name.strip()}`; pick it for a role above.")
        st.session_state.pop(LISTING_KEY, None)


def render() -> None:
    s = settings()
    st.title("Models")
    st.caption("Every model ragloom can use: the embedded catalog, Ollama at "
               f"`{s.ollama.host}` and the OpenAI-compatible server at "
               f"`{s.openai.base_url or 'api.openai.com'}`. "
               f"Now: chat `{s.chat}` · embedding `{s.embedding}` · judge `{s.judge}`.")
    refresh = st.button("Refresh", key="models-refresh", icon=":material/refresh:")
    listing = _listing(s, refresh)
    for provider, why in listing.errors.items():
        st.warning(f"**{provider}**: {why}", icon=":material/cloud_off:")
    st.dataframe([_row(m, s) for m in listing.models], hide_index=True, width="stretch")
    local = [m.spec for m in listing.models if m.provider == "local" and not m.installed]
    if local:
        st.caption(f"Fetch an embedded model with `ragloom models pull {local[0]}`.")
    st.subheader("Model per role")
    st.caption("An embedding change needs the collection re-ingested: its vectors come from the "
               "old model.")
    _use(s, _pick_roles(s, listing.models))
    st.subheader("Ollama")
    _pull(s)
