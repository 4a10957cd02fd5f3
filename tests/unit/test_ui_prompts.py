"""Prompts page: versions, diff, save (with inline validation errors), preview, try, labels."""

from __future__ import annotations

import pytest

from ragloom.core.errors import PromptError
from ragloom.prompts import PromptStore
from ragloom.ui.page_prompts import editable_yaml, parse_edit
from tests.unit.test_ui_support import app_test, fake_services, sample_collection, texts


def _store(settings) -> PromptStore:  # type: ignore[no-untyped-def]
    return PromptStore(settings.user_prompts_dir)


def _latest(settings) -> int:  # type: ignore[no-untyped-def]
    return max(_store(settings).versions("answer"))


def _save(at, text: str, message: str, author: str | None = "Mari"):  # type: ignore[no-untyped-def]
    next(a for a in at.text_area if a.key.startswith("pr-edit-text-answer-")).set_value(text)
    at.text_input(key="pr-edit-msg-answer").set_value(message)
    if author is not None:
        at.text_input(key="pr-edit-author-answer").set_value(author)
    return at.button[[b.label for b in at.button].index("Save as new version")].click().run()


def test_editor_yaml_round_trips_and_bad_yaml_is_a_prompt_error(settings) -> None:
    for version in _store(settings).versions("answer"):
        pv = _store(settings).get(f"answer@{version}")
        messages, params, variables = parse_edit(editable_yaml(pv), "answer")
        assert [(m["role"], m["content"]) for m in messages] == list(pv.messages)
        assert params == pv.params and variables is None  # a node's prompt: the node decides
    with pytest.raises(PromptError, match="not valid YAML at line 2"):
        parse_edit("messages:\n  - role: [unclosed", "answer")
    with pytest.raises(PromptError, match="needs a `messages:` list"):
        parse_edit("just text", "answer")


def test_save_new_version_then_promote_and_roll_back(settings) -> None:
    at = app_test(settings, fake_services(), page="prompts")
    assert not at.exception, at.exception
    last = _latest(settings)
    production = _store(settings).labels("answer")["production"]
    assert list(at.dataframe[0].value["version"]) == list(range(last, 0, -1))
    # What a user does in the editor: append to the last line of the last message.
    text = editable_yaml(_store(settings).get(f"answer@{last}")) + " Answer in one short sentence."
    _save(at, text, "one-sentence answers")
    new = last + 1
    assert not at.error and f"Saved answer@{new}" in texts(at)
    saved = _store(settings).get(f"answer@{new}")
    assert saved.message == "one-sentence answers" and "one short sentence" in saved.messages[-1][1]
    assert saved.author == "Mari"  # from the name field, not the server's login

    # The diff tab now compares the version it started from with the new one.
    unified = next(c.value for c in at.code if c.language == "diff")
    assert unified.startswith(f"--- answer@{last}\n+++ answer@{new}")
    last_line = editable_yaml(_store(settings).get(f"answer@{last}")).rstrip().splitlines()[-1]
    assert f"+{last_line.strip()} Answer in one short sentence." in unified

    at.selectbox(key="pr-label-answer").set_value("production")
    assert at.selectbox(key="pr-label-v-answer").value == new  # the new version is preselected
    at.button(key="pr-label-set-answer").click().run()
    # A label changes what every user gets: nothing moves before the confirmation.
    assert _store(settings).labels("answer")["production"] == production
    assert f"Move **answer:production** from {production} to **{new}**" in texts(at)
    at.button(key="pr-label-no-answer").click().run()
    assert _store(settings).labels("answer")["production"] == production
    assert "Move **answer:production**" not in texts(at)
    at.button(key="pr-label-set-answer").click().run()
    at.button(key="pr-label-yes-answer").click().run()
    assert _store(settings).labels("answer")["production"] == new
    at.selectbox(key="pr-rb-answer").set_value("production")
    at.button(key="pr-rb-go-answer").click().run()
    assert _store(settings).labels("answer")["production"] == production
    assert PromptStore().labels("answer")["production"] == production  # shipped files untouched


def test_invalid_template_is_refused_inline_and_nothing_is_saved(settings) -> None:
    at = app_test(settings, fake_services(), page="prompts")
    versions = _store(settings).versions("answer")
    good = editable_yaml(_store(settings).get(f"answer@{versions[-1]}"))
    bad = good.replace("{{ question }}", "{{ questoin }}")
    next(a for a in at.text_area if a.key.startswith("pr-edit-text-answer-")).set_value(bad).run()
    assert not at.exception
    # The live check says why before any save, and the save button waits for a valid text.
    shown = [e.value for e in at.error]
    assert any("{{ questoin }}" in e and "never passes" in e for e in shown), shown
    assert any("{{ question }}" in e for e in shown), shown  # required, and now missing
    variables = next(d.value for d in at.dataframe if "variable" in d.value.columns)
    assert dict(zip(variables["variable"], variables["check"], strict=True))["questoin"] == (
        "✗ the node does not pass it")
    save = at.button[[b.label for b in at.button].index("Save as new version")]
    assert save.disabled and _store(settings).versions("answer") == versions
    next(a for a in at.text_area if a.key.startswith("pr-edit-text-answer-")).set_value(good).run()
    assert "Valid: this text can be saved" in texts(at)
    _save(at, good, "   ")
    assert "needs a message" in at.error[0].value and _store(settings).versions("answer") == versions


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
    ref = f"answer@{_latest(settings)}"
    assert services.extra["calls"][-1]["prompts"] == {"answer": ref}
    assert "85 degrees Celsius" in texts(at) and ref in texts(at)


def test_each_prompt_gets_inputs_for_its_own_variables(settings) -> None:
    at = app_test(settings, fake_services(), page="prompts")
    at.sidebar.selectbox(key="pr-name").set_value("ground").run()
    assert not at.exception and not at.error
    inputs = {a.key for a in at.text_area if a.key.startswith("pr-var-ground-")}
    assert inputs == {f"pr-var-ground-{v}" for v in _store(settings).get("ground@1").variables}
    assert "Brew Oolong at 85 degrees Celsius [1]." in "\n".join(c.value for c in at.code)
    assert not at.error


def test_a_version_needs_its_authors_name_which_is_remembered(settings) -> None:
    at = app_test(settings, fake_services(), page="prompts")
    last = _latest(settings)
    text = editable_yaml(_store(settings).get(f"answer@{last}"))
    _save(at, text + " Be brief.", "brief", author="")
    assert "needs its author's name" in texts(at) and _latest(settings) == last  # nothing saved
    _save(at, text + " Be brief.", "brief", author="Jaan")
    _save(at, text + " Be briefer.", "briefer", author=None)  # the field is prefilled now
    assert [_store(settings).get(f"answer@{v}").author for v in (last + 1, last + 2)] == [
        "Jaan", "Jaan"]


def test_playground_answers_with_two_versions_side_by_side(settings) -> None:
    sample_collection(settings)
    services = fake_services("Brew it at 85 degrees Celsius [1].", "85 °C [1].")
    at = app_test(settings, services, page="prompts")
    versions = _store(settings).active_versions("answer")
    first, second = f"answer@{versions[-1]}", f"answer@{versions[-2]}"
    assert second in at.selectbox(key="pr-try-b-answer").options
    at.selectbox(key="pr-try-b-answer").set_value(second)
    at.text_input(key="pr-try-q-answer").set_value("What temperature for Oolong?")
    at.button(key="pr-try-ask-answer").click().run()
    assert not at.exception and not at.error
    assert [c["prompts"] for c in services.extra["calls"][-2:]] == [{"answer": first},
                                                                     {"answer": second}]
    headers = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert headers == [f"#### {first}", f"#### {second}"]
    shown = texts(at)
    assert "Brew it at 85 degrees Celsius" in shown and "85 °C" in shown


def test_archive_hides_a_version_from_the_pickers_and_unarchive_brings_it_back(settings) -> None:
    from ragloom.prompts.authoring import create_version

    bad = create_version(_store(settings), "answer", [
        {"role": "user", "content": "{{ context }}\n{{ question }} Answer badly."}],
        message="worse", author="Mari")
    at = app_test(settings, fake_services(), page="prompts")
    at.selectbox(key="pr-archive-v-answer").set_value(bad.version)
    at.button(key="pr-archive-go-answer").click().run()
    assert not at.exception and bad.version in _store(settings).archived("answer")
    assert bad.version not in at.selectbox(key="pr-label-v-answer").options
    assert bad.version not in at.selectbox(key="pr-try-v-answer").options
    table = at.dataframe[0].value
    assert dict(zip(table["version"], table["archived"], strict=True))[bad.version] == "archived"
    # The Ask page's prompt picker does not offer it either.
    ask = app_test(settings, fake_services())
    assert bad.ref not in ask.sidebar.selectbox(key="ask-prompt").options
    # A version a label points to is refused, with the reason.
    production = _store(settings).labels("answer")["production"]
    at.selectbox(key="pr-archive-v-answer").set_value(production)
    at.button(key="pr-archive-go-answer").click().run()
    assert any("move the label to another version first" in e.value for e in at.error)
    at.selectbox(key="pr-archive-v-answer").set_value(bad.version).run()
    assert at.button(key="pr-archive-go-answer").label == "Unarchive"
    at.button(key="pr-archive-go-answer").click().run()
    assert bad.version in _store(settings).active_versions("answer")
