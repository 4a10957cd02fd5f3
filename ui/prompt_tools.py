"""The Prompts page's working tools: the editor's live check (variables declared, used and passed
by the node; every problem the save would refuse), and a playground that answers one question
with two versions side by side."""

from __future__ import annotations

from typing import Any

import streamlit as st
import yaml

from ragloom.core.errors import PromptError
from ragloom.core.settings import Settings
from ragloom.prompts import PromptStore
from ragloom.prompts.validation import ALLOWED_VARIABLES, REQUIRED_VARIABLES, find_problems
from ragloom.ui.answer_view import CSS, render_answer
from ragloom.ui.state import chat_turn, services, shown_errors


def variable_rows(name: str, messages: Any, declared: list[str] | None) -> list[dict[str, str]]:
    """One row per variable: used by the templates, declared, passed (required) by the node."""
    from ragloom.prompts.validation import used_variables

    used = used_variables(messages)
    passed = ALLOWED_VARIABLES.get(name)
    required = REQUIRED_VARIABLES.get(name, frozenset())
    names = sorted(used | set(declared or []) | set(passed or ()))
    rows = []
    for v in names:
        if passed is not None and v not in passed:
            state = "✗ the node does not pass it"
        elif v in required and v not in used:
            state = "✗ required, not used"
        elif v not in used:
            state = "passed, not used"
        else:
            state = "✓"
        rows.append({"variable": v, "used": "yes" if v in used else "",
                     "declared": "yes" if declared and v in declared else "",
                     "passed by the node": "required" if v in required else
                     ("yes" if passed is None or v in passed else "no"), "check": state})
    return rows


def parse_edit(text: str, name: str
               ) -> tuple[list[dict[str, str]], dict[str, Any], list[str] | None]:
    """Messages, params and declared variables (None: not declared) from the editor's YAML, or a
    PromptError saying what is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise PromptError(f"the edited text is not valid YAML{where}", subject=name,
                          fix="keep the `messages:` list of role/content entries") from exc
    if not isinstance(data, dict) or "messages" not in data:
        raise PromptError("the edited text needs a `messages:` list", subject=name,
                          fix="keep the structure shown when the editor opened")
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise PromptError("`params` must be a mapping, e.g. {temperature: 0.2}", subject=name)
    variables = data.get("variables")
    if variables is not None and not (isinstance(variables, list)
                                      and all(isinstance(v, str) for v in variables)):
        raise PromptError("`variables` must be a list of names, e.g. [question, context]",
                          subject=name)
    return data["messages"], params, variables


def live_check(text: str, name: str) -> bool:
    """Shown beside the editor on every change: the highlighted text, the variables, and the
    problems a save would refuse. True when the text would save."""
    with st.expander("Highlighted", expanded=False):
        st.code(text, language="yaml", line_numbers=True)
    try:
        messages, params, declared = parse_edit(text, name)
    except PromptError as exc:
        st.error(str(exc), icon=":material/error:")
        return False
    st.markdown("**Variables**")
    st.dataframe(variable_rows(name, messages, declared), hide_index=True, width="stretch")
    problems = find_problems(name, messages, declared, params)
    for problem in problems:
        st.error(problem, icon=":material/error:")
    if not problems:
        st.success("Valid: this text can be saved as a new version.", icon=":material/check:")
    return not problems


def playground(s: Settings, store: PromptStore, name: str, refs: list[str], question: str,
               collection: str, graph: str) -> None:
    """Answer ``question`` once per version in ``refs`` (in turn: one model), side by side."""
    from ragloom.agents.service import ask

    results: dict[str, Any] = {}
    for ref in refs:
        with shown_errors(f"asking with {ref}"), st.spinner(f"Answering with {ref}…"), \
                chat_turn(s):
            prompts = {name: ref}
            ctx = services().context(s, collection, prompts, None)
            results[ref] = ask(question, s, collection=collection, graph=graph,
                               prompts=prompts, context=ctx)
    st.session_state[f"pr-play-{name}"] = {"question": question, "graph": graph,
                                           "answers": results}


def show_playground(name: str) -> None:
    done = st.session_state.get(f"pr-play-{name}")
    if not done:
        return
    st.markdown(CSS, unsafe_allow_html=True)
    st.markdown(f"**{done['question']}** · graph {done['graph']}")
    columns = st.columns(len(done["answers"]) or 1)
    for i, (col, (ref, answer)) in enumerate(zip(columns, done["answers"].items(), strict=True)):
        with col:
            st.markdown(f"#### {ref}")
            render_answer(answer, turn=9000 + i)
            if ref not in answer.prompts.values():
                st.warning(f"The {done['graph']} graph did not use the '{name}' prompt here.")
