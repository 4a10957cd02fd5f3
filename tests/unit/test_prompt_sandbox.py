"""Prompt templates cannot run code (save-time check and sandboxed render), and a version that could
never render is refused on every path: create_version, the API, the CLI, labels, eval pins."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ragloom.cli_prompts import prompts_app
from ragloom.core.errors import PromptError
from ragloom.prompts import PromptStore
from ragloom.prompts.authoring import create_version, set_label
from ragloom.prompts.validation import ALLOWED_VARIABLES, REQUIRED_VARIABLES
from tests.unit.api_helpers import client, key

POPEN = "{{ lipsum.__globals__['os'].popen('id').read() }}"
MRO = "{{ ''.__class__.__mro__ }}"
BASE = "Documents:\n{{ context }}\nQuestion: {{ question }}\n"


@pytest.fixture
def store(tmp_path: Path) -> PromptStore:
    return PromptStore(tmp_path / "user-prompts")


def _user(content: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Answer from the documents."},
            {"role": "user", "content": content}]


def _hand_write(store: PromptStore, name: str, content: str, variables: list[str]) -> int:
    """A version file with a valid checksum that never went through validation."""
    folder = store.user_dir / name  # type: ignore[operator]
    folder.mkdir(parents=True, exist_ok=True)
    version = max(store.versions(name), default=0) + 1
    body = yaml.safe_dump({"message": "by hand", "variables": variables, "params": {},
                           "messages": [{"role": "user", "content": content}]}).encode()
    (folder / f"v{version}.yaml").write_bytes(body)
    meta = {"labels": {}, "sha256": {str(version): hashlib.sha256(body).hexdigest()}}
    (folder / "prompt.json").write_text(json.dumps(meta))
    return version


@pytest.mark.parametrize(("payload", "constructs"), [
    (POPEN, ["name 'lipsum'", "attribute '__globals__'", "calling lipsum.__globals__['os'].popen"]),
    (MRO, ["attribute '__class__'", "attribute '__mro__'"]),
])
def test_code_execution_payloads_are_refused_at_save(store: PromptStore, payload: str,
                                                     constructs: list[str]) -> None:
    with pytest.raises(PromptError) as info:
        create_version(store, "answer", _user(BASE + payload), message="sneaky")
    text = str(info.value)
    for construct in constructs:
        assert f"message 2, line 4: {construct}" in text
    assert "filters" in (info.value.fix or "")
    assert store.versions("answer") == PromptStore().versions("answer")  # nothing was written


@pytest.mark.parametrize(("template", "construct"), [
    ("{{ question.upper() }}", "calling question.upper(…)"),
    ("{{ question | attr('__class__') }}", "filter 'attr'"),
    ("{{ question | join(attribute='a.__class__') }}", "attribute 'a.__class__'"),
    ("{{ question['__class__'] }}", "item '__class__'"),
    ("{{ cycler }}{{ namespace }}", "name 'cycler'"),
    ("{{ self }}", "name 'self'"),
    ("{{ question.globals }}", "attribute 'globals'"),
    ("{{ '-' * 40 }}", "operator '*'"),
    ("{% macro m() %}x{% endmacro %}", "tag 'macro'"),
    ("{% include 'x.txt' %}", "tag 'include'"),
    ("{% if question is callable %}x{% endif %}", "test 'callable'"),
])
def test_constructs_outside_the_template_language_are_refused(store: PromptStore, template: str,
                                                               construct: str) -> None:
    with pytest.raises(PromptError, match="message 2, line 4: " + re.escape(construct)):
        create_version(store, "answer", _user(BASE + template), message="x")


def test_allowed_constructs_still_save_and_render(store: PromptStore) -> None:
    text = ("{% set q = question | trim %}{% if q is string %}{{ q | upper }}{% endif %}\n"
        "{% for c in context | list %}{{ loop.index }}{% endfor %}\n"
        "{{ context | replace('<', '(') | truncate(50) | default('none') }}")
    v = create_version(store, "answer", _user(text), message="filters and loops")
    rendered = v.render(question=" why? ", context="ab<")[-1][1]
    assert rendered.startswith("WHY?\n123\nab(")


@pytest.mark.parametrize("payload", [
    "{{ lipsum.__globals__['os'].popen('touch MARKER').read() }}",
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}",
    "{{ question.__class__.__mro__ }}",
    "{{ question.format('touch MARKER') }}",
    "{{ 'x' * 10 }}",
])
def test_hand_written_version_with_a_valid_checksum_cannot_escape(
        store: PromptStore, tmp_path: Path, payload: str) -> None:
    payload = payload.replace("MARKER", str(tmp_path / "pwned"))
    version = _hand_write(store, "answer", BASE + payload, ["context", "question"])
    pv = store.get(f"answer@{version}")  # the checksum matches: only the sandbox stands
    with pytest.raises(PromptError, match="cannot render|refused by the sandbox"):
        pv.render(question="q", context="c")
    assert not (tmp_path / "pwned").exists()
    assert pv.problems()
    with pytest.raises(PromptError, match="prompt version is invalid"):
        set_label(store, "answer", "production", version)


def test_unknown_variable_is_refused_without_a_variables_list(store: PromptStore) -> None:
    with pytest.raises(PromptError, match=r"uses \{\{ today \}\}, which the 'answer' node never "
                       r"passes \(it passes: context, question\)"):
        create_version(store, "answer", _user(BASE + "Today is {{ today }}."), message="date")
    with pytest.raises(PromptError, match="today"):  # declared or not
        create_version(store, "answer", _user(BASE + "{{ today }}"), message="date",
                       variables=["context", "question", "today"])
    notes = "{{ context }} {{ question }} {{ notes }}"
    assert create_version(store, "compose", _user(notes), message="notes").variables == (
        "context", "notes", "question")  # an optional variable its node passes


def test_user_defined_prompt_must_declare_its_variables(store: PromptStore) -> None:
    with pytest.raises(PromptError, match="declares no variables"):
        create_version(store, "summary", _user("Sum up {{ text }}"), message="first")
    v = create_version(store, "summary", _user("Sum up {{ text }}"), message="first",
                       variables=["text"])
    assert v.variables == ("text",)


def test_invalid_version_already_on_disk_is_no_label_target_nor_eval_pin(
        store: PromptStore, settings) -> None:  # type: ignore[no-untyped-def]
    from ragloom.evals.runs import Variant, check_prompt_pins
    from ragloom.evals.suites import load_suite
    from ragloom.ui.page_evals import _answer_refs

    store = PromptStore(settings.user_prompts_dir)
    version = _hand_write(store, "answer", BASE + "{{ today }}", ["context", "question", "today"])
    with pytest.raises(PromptError, match="never passes"):
        set_label(store, "answer", "staging", version)
    assert "staging" not in store.labels("answer")
    with pytest.raises(PromptError, match=f"answer@{version}"):
        check_prompt_pins(load_suite("sample"), settings,
                          [Variant(prompts={"answer": f"answer@{version}"})])
    check_prompt_pins(load_suite("sample"), settings, [Variant(prompts={"answer": "answer@1"})])
    assert f"answer@{version}" not in _answer_refs(settings) and "answer@1" in _answer_refs(settings)


def test_every_shipped_version_validates_and_renders() -> None:
    store = PromptStore()
    assert set(ALLOWED_VARIABLES) == set(REQUIRED_VARIABLES) <= set(store.names())
    for name in store.names():
        for number in store.versions(name):
            version = store.checked(f"{name}@{number}")
            assert set(version.variables) <= ALLOWED_VARIABLES[name], version.ref
            rendered = version.render(**{v: f"<{v}>" for v in version.variables})
            assert all(f"<{v}>" in "".join(t for _, t in rendered) for v in version.variables)


def test_api_refuses_payloads_and_unknown_variables(settings) -> None:  # type: ignore[no-untyped-def]
    with client(settings) as api:
        api.headers.update(key(settings, "admin"))
        for content in (BASE + POPEN, BASE + MRO, BASE + "{{ today }}"):
            r = api.post("/prompts/answer/versions", json={
                "messages": [{"role": "user", "content": content}], "message": "try"})
            assert r.status_code == 422, r.text
            assert "invalid prompt" in r.json()["error"] and r.json()["fix"]
        assert "line 4: name 'lipsum' is not allowed" in api.post("/prompts/answer/versions", json={
            "messages": [{"role": "user", "content": BASE + POPEN}], "message": "x"}).text
        listed = {p["name"]: p["versions"] for p in api.get("/prompts").json()}
        assert listed["answer"] == PromptStore().versions("answer")  # nothing was saved


@pytest.mark.parametrize(("content", "expected"), [
    (BASE + POPEN, "line 4: name 'lipsum' is not allowed"),
    (BASE + "{{ today }}", "{{ today }}, which the 'answer' node never passes"),
])
def test_cli_prompts_new_refuses(settings, tmp_path: Path, content: str,  # type: ignore[no-untyped-def]
                                 expected: str) -> None:
    spec = tmp_path / "new.yaml"
    spec.write_text(yaml.safe_dump({"messages": [{"role": "user", "content": content}]}))
    result = CliRunner().invoke(prompts_app, ["new", "answer", "--from", str(spec), "-m", "try"],
                                obj={"settings": settings})
    assert result.exit_code != 0 and isinstance(result.exception, PromptError)
    assert expected in str(result.exception)
    assert PromptStore(settings.user_prompts_dir).versions("answer") == \
        PromptStore().versions("answer")
