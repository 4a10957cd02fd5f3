"""Prompts: browse versions, diff side by side, save new versions, preview, try, move labels."""

from __future__ import annotations

from typing import Any

import streamlit as st
import yaml

from ragloom.agents.graphs import graph_names
from ragloom.core.errors import PromptError
from ragloom.core.settings import Settings
from ragloom.prompts import PromptStore, PromptVersion, prompt_store
from ragloom.prompts.authoring import archive, as_text, create_version, diff, rollback, set_label
from ragloom.prompts.validation import ALLOWED_VARIABLES
from ragloom.ui.experiments_view import experiments_tab
from ragloom.ui.prompt_tools import live_check, parse_edit, playground, show_playground
from ragloom.ui.state import pick_collection, settings, shown_errors

SAVED_KEY = "ragloom_prompt_saved"
PENDING_DIFF_KEY = "ragloom_prompt_pending_diff"
AUTHOR_KEY = "ragloom_author"  # the name a prompt author typed once, for this session


def _store(s: Settings) -> PromptStore:
    return prompt_store(s)


def _versions_table(store: PromptStore, name: str) -> None:
    labels: dict[int, list[str]] = {}
    for label, version in store.labels(name).items():
        labels.setdefault(version, []).append(label)
    hidden = store.archived(name)
    rows = []
    for v in reversed(store.versions(name)):
        with shown_errors(f"reading {name}@{v}"):
            pv = store.get(f"{name}@{v}")
            rows.append({"version": v, "labels": ", ".join(labels.get(v, [])),
                         "archived": "archived" if v in hidden else "",
                         "message": pv.message, "author": pv.author, "created": pv.created})
    st.dataframe(rows, hide_index=True)


def _version_picker(label: str, store: PromptStore, name: str, key: str, default: int = -1,
                    active: bool = False) -> int:
    """``active``: archived versions are not offered (they stay in history pickers)."""
    versions = store.active_versions(name) if active else store.versions(name)
    if st.session_state.get(key) not in versions:
        st.session_state.pop(key, None)
        index = default % len(versions)
    else:
        index = 0  # the kept choice wins; a non-zero default here would warn
    return int(st.selectbox(label, versions, index=index, key=key))


def _diff_tab(store: PromptStore, name: str) -> None:
    pending = st.session_state.pop(PENDING_DIFF_KEY, None)
    if pending and pending[0] == name:  # a version was just saved: diff, try and label it next
        base, new = pending[1:]
        st.session_state[f"pr-diff-a-{name}"], st.session_state[f"pr-diff-b-{name}"] = base, new
        st.session_state[f"pr-try-v-{name}"] = st.session_state[f"pr-label-v-{name}"] = new
    a_col, b_col = st.columns(2)
    with a_col:
        a = _version_picker("Left", store, name, f"pr-diff-a-{name}", default=-2)
    with b_col:
        b = _version_picker("Right", store, name, f"pr-diff-b-{name}")
    with a_col:
        st.code("\n".join(as_text(store.get(f"{name}@{a}"))), language="jinja2", wrap_lines=True)
    with b_col:
        st.code("\n".join(as_text(store.get(f"{name}@{b}"))), language="jinja2", wrap_lines=True)
    changes = diff(store, name, str(a), str(b))
    st.markdown("**Unified diff**")
    st.code(changes or "(identical)", language="diff")


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks (``|``), the way people edit templates."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_BlockDumper.add_representer(str, _str)


def editable_yaml(pv: PromptVersion) -> str:
    """The parts of a version a user edits, as YAML (messages, model parameters, and the declared
    variables of a prompt no graph node uses: a node's prompt may use only what the node passes)."""
    body: dict[str, Any] = {"params": pv.params}
    if pv.name not in ALLOWED_VARIABLES:
        body["variables"] = list(pv.variables)
    body["messages"] = [{"role": r, "content": c} for r, c in pv.messages]
    return yaml.dump(body, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True,
                     width=100).rstrip("\n")


def _edit_tab(s: Settings, store: PromptStore, name: str) -> None:
    base = _version_picker("Start from version", store, name, f"pr-edit-base-{name}")
    pv = store.get(f"{name}@{base}")
    left, right = st.columns([3, 2])
    with left:
        text = st.text_area("Messages and parameters (Jinja2 templates in YAML)",
                            value=editable_yaml(pv), height=380, key=f"pr-edit-text-{name}-{base}",
                            help="Checked on the right each time you leave the box (Ctrl+Enter)")
    with right:
        valid = live_check(text, name)
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    message = c1.text_input("What changed and why", key=f"pr-edit-msg-{name}",
                            placeholder="e.g. shorter answers, always cite")
    author = c2.text_input("Your name", key=f"pr-edit-author-{name}",
                           value=st.session_state.get(AUTHOR_KEY, ""),
                           placeholder="recorded as the author")
    if c3.button("Save as new version", type="primary", key=f"pr-edit-save-{name}",
                 disabled=not valid):
        with shown_errors("saving the prompt") as outcome:
            if not author.strip():  # the server's login name would be nobody's
                raise PromptError("a new version needs its author's name", subject=name,
                                  fix="type your name next to the message (remembered)")
            st.session_state[AUTHOR_KEY] = author.strip()
            messages, params, variables = parse_edit(text, name)
            new = create_version(store, name, messages, message=message, params=params,
                                 variables=variables, author=author.strip())
        if "error" not in outcome:
            st.session_state[SAVED_KEY] = new.ref
            st.session_state[PENDING_DIFF_KEY] = (name, base, new.version)
            st.rerun()


def _try_tab(s: Settings, store: PromptStore, name: str) -> None:
    version = _version_picker("Version", store, name, f"pr-try-v-{name}", active=True)
    pv = store.get(f"{name}@{version}")
    st.markdown("**Render preview** with sample variables")
    values = {v: st.text_area(v, key=f"pr-var-{name}-{v}", height=80,
                              value=_SAMPLES.get(v, "")) for v in pv.variables}
    with shown_errors("rendering"):
        for role, content in pv.render(**values):
            st.markdown(f"*{role}*")
            st.code(content, language=None, wrap_lines=True)
    st.divider()
    st.markdown(f"**Playground**: the graph answers with `{pv.ref}` pinned, and with a second "
                "version beside it if you pick one")
    others = ["(none)", *(f"{name}@{v}" for v in store.active_versions(name) if v != version)]
    second = st.selectbox("Side by side with", others, key=f"pr-try-b-{name}")
    collection = pick_collection(s, key=f"pr-try-col-{name}", where=st)
    question = st.text_input("Question", key=f"pr-try-q-{name}",
                             max_chars=s.agent.max_question_chars)  # shows a counter
    graph = st.selectbox("Graph", graph_names(), key=f"pr-try-g-{name}")
    if st.button("Ask", key=f"pr-try-ask-{name}", type="primary"):
        if not (question.strip() and collection):
            st.warning("Type a question and pick a collection first.")
            return
        refs = [pv.ref, *([] if second == "(none)" else [second])]
        playground(s, store, name, refs, question.strip(), collection, graph)
    show_playground(name)


_SAMPLES = {"question": "What temperature should I brew the Oolong at?",
            "context": "[1] (tea-guide.pdf, page 1)\n<<<\nOolong: brew at 85 degrees Celsius for "
                       "3 minutes.\n>>>",
            "answer": "Brew Oolong at 85 degrees Celsius [1].", "history": "user: hi"}


def _gated_suites() -> list[str]:
    from ragloom.evals.suites import list_suites, load_suite

    return [n for n in list_suites() if load_suite(n).gate]


def _promote(s: Settings, store: PromptStore, name: str, label: str, version: int,
             gate: str | None, force: bool) -> None:
    """Move the label, after the gate when one is chosen; the gate's table stays on the page."""
    import getpass

    from ragloom.api.audit import audit_log
    from ragloom.api.keys import Principal
    from ragloom.evals.gate import gate_promotion
    from ragloom.evals.suites import load_suite

    result = None
    if gate:
        with st.spinner(f"Running suite '{gate}' on {name}@{version} and the current version…"):
            result = gate_promotion(s, load_suite(gate), name, version, label)
        st.session_state[f"pr-gate-{name}"] = result.to_json()
    passed = result is None or result.passed
    who = Principal(id="web", name=f"web app ({getpass.getuser()})", role="admin")
    log = audit_log(s)
    try:
        if not passed and not force:
            log.record(who, "prompt.promote", target=f"{name}@{version}", outcome="refused",
                       label=label, gate=gate)
            st.error(f"Refused: {name}@{version} does not pass the gate of suite '{gate}'; "
                     f"{name}:{label} stays at {result.current}. Tick 'Force' to promote anyway "
                     "(recorded in the audit log).")
            return
        before = set_label(store, name, label, version)
        log.record(who, "prompt.promote", target=f"{name}@{version}",
                   outcome="ok" if passed else "forced", label=label, gate=gate, previous=before)
    finally:
        log.close()
    st.toast(f"{name}:{label} → {version} (was {before})" + ("" if passed else " — FORCED"))


def _gate_table(name: str) -> None:
    result = st.session_state.get(f"pr-gate-{name}")
    if not result or not result["checks"]:
        return
    st.markdown(f"**Last gate** ({result['suite']}: @{result['current']} → @{result['candidate']}"
                f"): {'passed' if result['passed'] else 'refused'}")
    st.dataframe([{"metric": c["metric"], "current": c["current"], "candidate": c["candidate"],
                   "Δ": c["delta"], "margin": c["margin"],
                   "95% CI": f"[{c['ci95'][0]:+.3f}, {c['ci95'][1]:+.3f}]" if c["ci95"] else "–",
                   "n": c["paired"], "verdict": ("pass: " if c["passed"] else "FAIL: ")
                   + c["reason"]} for c in result["checks"]], hide_index=True)


def _confirm_promote(s: Settings, store: PromptStore, name: str, label: str, version: int,
                     gate: str, force: bool, confirm: str) -> None:
    """A label changes what every user of it gets: say so, and act only on a second click."""
    now = store.labels(name).get(label)
    st.warning(f"Move **{name}:{label}** from {now if now is not None else '(unset)'} to "
               f"**{version}**? Every answer that uses the label changes"
               + (f", after the gate of suite '{gate}'." if gate != "(no gate)" else "."),
               icon=":material/help:")
    yes, no = st.columns(2)
    if yes.button("Yes, move it", key=f"pr-label-yes-{name}", type="primary"):
        st.session_state.pop(confirm)
        with shown_errors("moving the label"):
            _promote(s, store, name, label, version, None if gate == "(no gate)" else gate, force)
    if no.button("Cancel", key=f"pr-label-no-{name}"):
        st.session_state.pop(confirm)
        st.rerun()


def _archive_box(store: PromptStore, name: str) -> None:
    st.markdown("**Archive** a version: hidden from the pickers, kept for history")
    hidden = store.archived(name)
    version = st.selectbox("Version ", list(reversed(store.versions(name))),
                           key=f"pr-archive-v-{name}",
                           format_func=lambda v: f"{v} (archived)" if v in hidden else str(v))
    undo = version in hidden
    if st.button("Unarchive" if undo else "Archive", key=f"pr-archive-go-{name}"):
        with shown_errors("archiving") as outcome:
            archive(store, name, int(version), undo=undo)
        if "error" not in outcome:
            st.toast(f"{name}@{version} {'unarchived' if undo else 'archived'}")
            st.rerun()


def _labels_tab(s: Settings, store: PromptStore, name: str) -> None:
    state = store.label_state(name)
    st.dataframe([{"label": k, "version": v["version"], "history": v.get("previous", [])}
                  for k, v in state.items()], hide_index=True)
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown("**Move a label** (promote)")
        label = st.selectbox("Label", sorted({*state, "production", "staging"}),
                             key=f"pr-label-{name}")
        version = _version_picker("to version", store, name, f"pr-label-v-{name}", active=True)
        gate = st.selectbox("Gate on suite", ["(no gate)", *_gated_suites()],
                            key=f"pr-gate-suite-{name}",
                            help="Move the label only if this suite finds no regression in its "
                            "gate: metrics against the version the label points to now.")
        force = st.checkbox("Force past a refusing gate", key=f"pr-gate-force-{name}")
        confirm = f"pr-label-confirm-{name}"
        if st.button("Move label", key=f"pr-label-set-{name}", type="primary"):
            st.session_state[confirm] = (label, version, gate, force)
        if st.session_state.get(confirm) == (label, version, gate, force):
            _confirm_promote(s, store, name, label, version, gate, force, confirm)
        _gate_table(name)
    with right, st.container(border=True):
        _archive_box(store, name)
    with right, st.container(border=True):
        st.markdown("**Roll back** a label to the version it pointed to before")
        label = st.selectbox("Label ", sorted(state) or ["production"], key=f"pr-rb-{name}")
        if st.button("Roll back", key=f"pr-rb-go-{name}"):
            with shown_errors("rolling back") as outcome:
                old, new = rollback(store, name, label)
            if "error" not in outcome:
                st.toast(f"{name}:{label} rolled back from {old} to {new}")
                st.rerun()


def render() -> None:
    s = settings()
    st.title("Prompts")
    store = _store(s)
    with shown_errors("listing prompts") as outcome:
        names = store.names()
    if "error" in outcome or not names:
        return
    name = st.sidebar.selectbox("Prompt", names, key="pr-name",
                                index=names.index("answer") if "answer" in names else 0)
    where = store.user.where if store.user else "nowhere (no prompts_dir)"
    st.caption(f"Your versions are saved in {where}; shipped versions are read-only.")
    with shown_errors(f"reading prompt '{name}'"):
        _versions_table(store, name)
    if st.session_state.get(SAVED_KEY, "").startswith(f"{name}@"):
        st.success(f"Saved {st.session_state[SAVED_KEY]}: see what changed under Diff, try it under "
                   "Preview & try, promote it under Labels.")
    tabs = st.tabs(["Diff", "Edit → new version", "Preview & try", "Labels", "Experiments"],
                   key="pr-tabs")

    def experiments() -> None:
        experiments_tab(s, name, lambda version, gate: _promote(
            s, store, name, "production", version, gate, False), _gated_suites())
        _gate_table(name)

    for tab, body in zip(tabs, (lambda: _diff_tab(store, name), lambda: _edit_tab(s, store, name),
                                lambda: _try_tab(s, store, name), lambda: _labels_tab(s, store, name),
                                experiments), strict=True):
        with tab, shown_errors(f"showing prompt '{name}'"):
            body()
