"""Prompts page: versions, diff, save (with inline validation errors), preview, try, labels."""

from __future__ import annotations

import pytest

from core.errors import PromptError
from prompts import PromptStore
from tests.unit.test_ui_support import app_test, fake_services, sample_collection, texts
from ui.page_prompts import editable_yaml, parse_edit


def _store(settings) -> PromptStore:  # type: ignore[no-untyped-def]
    return PromptStore(settings.user_prompts_dir)


def _save(at, text: str, message: str):  # type: ignore[no-untyped-def]
    at.text_area(key="pr-edit-text-answer-1").set_value(text)
    at.text_input(key="pr-edit-msg-answer").set_value(message)
    return at.button[[b.label for b in at.button].index("Save as new version")].click().run()


def test_editor_yaml_round_trips_and_bad_yaml_is_a_prompt_error(settings) -> None:
    v1 = _store(settings).get("answer@1")
    messages, params = parse_edit(editable_yaml(v1), "answer")
    assert [(m["role"], m["content"]) for m in messages] == list(v1.messages) and params == {}
    with pytest.raises(PromptError, match="not valid YAML at line 2"):
        parse_edit("messages:\n  - role: [unclosed", "answer")
    with pytest.raises(PromptError, match="needs a `messages:` list"):
        parse_edit("just text", "answer")


def test_save_new_version_then_promote_and_roll_back(settings) -> None:
    at = app_test(settings, fake_services(), page="prompts")
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["version"]) == [1]
    text = editable_yaml(_store(settings).get("answer@1")).replace(
        "Answer the question from the documents only.",
        "Answer in one short sentence, from the documents only.")
    _save(at, text, "one-sentence answers")
    assert not at.error and "Saved answer@2" in texts(at)
    v2 = _store(settings).get("answer@2")
    assert v2.message == "one-sentence answers" and "one short sentence" in v2.messages[0][1]

    # The diff tab compares the two versions by default (left: previous, right: newest).
    unified = next(c.value for c in at.code if c.language == "diff")
    assert unified.startswith("--- answer@1\n+++ answer@2") and "one short sentence" in unified

    at.selectbox(key="pr-label-answer").set_value("production")
    at.selectbox(key="pr-label-v-answer").set_value(2)
    at.button(key="pr-label-set-answer").click().run()
    assert _store(settings).labels("answer")["production"] == 2
    at.selectbox(key="pr-rb-answer").set_value("production")
    at.button(key="pr-rb-go-answer").click().run()
    assert _store(settings).labels("answer")["production"] == 1
    assert PromptStore().labels("answer")["production"] == 1  # shipped files untouched


def test_invalid_template_is_refused_inline_and_nothing_is_saved(settings) -> None:
    at = app_test(settings, fake_services(), page="prompts")
    text = editable_yaml(_store(settings).get("answer@1")).replace("{{ context }}", "{{ contxt }}")
    _save(at, text, "typo")
    assert not at.exception
    error = at.error[0].value
    assert error.startswith("saving the prompt failed: invalid prompt") and "{{ context }}" in error
    assert _store(settings).versions("answer") == [1]
    _save(at, editable_yaml(_store(settings).get("answer@1")), "   ")
    assert "needs a message" in at.error[0].value and _store(settings).versions("answer") == [1]


def test_render_preview_and_try_a_version_on_a_question(settings) -> None:
    sample_collection(settings)
    services = fake_services("Brew it at 85 degrees Celsius [1].")
    at = app_test(settings, services, page="prompts")
    at.text_area(key="pr-var-answer-question").set_value("Is green tea cheap?").run()
    rendered = "\n".join(c.value for c in at.code)
    assert "Question: Is green tea cheap?" in rendered and "Oolong: brew at 85" in rendered
    at.text_input(key="pr-try-q-answer").set_value("What temperature for Oolong?")
    at.button(key="pr-try-ask-answer").click().run()
    assert not at.exception and not at.error
    assert services.extra["calls"][-1]["prompts"] == {"answer": "answer@1"}
    assert "85 degrees Celsius" in texts(at) and "answer@1" in texts(at)


def test_each_prompt_gets_inputs_for_its_own_variables(settings) -> None:
    at = app_test(settings, fake_services(), page="prompts")
    at.sidebar.selectbox(key="pr-name").set_value("ground").run()
    assert not at.exception and not at.error
    inputs = {a.key for a in at.text_area if a.key.startswith("pr-var-ground-")}
    assert inputs == {f"pr-var-ground-{v}" for v in _store(settings).get("ground@1").variables}
    assert "Brew Oolong at 85 degrees Celsius [1]." in "\n".join(c.value for c in at.code)
