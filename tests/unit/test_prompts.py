from pathlib import Path

import pytest

from core.errors import PromptError
from prompts import PromptStore, parse_ref


def test_shipped_answer_prompt_resolves_by_label_and_pin() -> None:
    store = PromptStore()
    by_label = store.get("answer")
    assert by_label.ref == f"answer@{store.labels('answer')['production']}"
    assert store.get("answer@1").version == 1
    assert {"question", "context"} <= set(by_label.variables)


def test_render_is_strict() -> None:
    prompt = PromptStore().get("answer@1")
    messages = prompt.render(question="Q?", context="[1] text")
    assert messages[0][0] == "system" and "Q?" in messages[-1][1]
    with pytest.raises(PromptError, match="context"):
        prompt.render(question="Q?")


@pytest.mark.parametrize(("ref", "parsed"), [
    ("answer", ("answer", None, "production")),
    ("answer@3", ("answer", 3, None)),
    ("answer:staging", ("answer", None, "staging")),
])
def test_parse_ref(ref: str, parsed: tuple) -> None:
    assert parse_ref(ref) == parsed


def test_bad_refs_say_what_exists(tmp_path: Path) -> None:
    store = PromptStore()
    with pytest.raises(PromptError, match="no version 99"):
        store.get("answer@99")
    with pytest.raises(PromptError, match="no label 'nope'"):
        store.get("answer:nope")
    with pytest.raises(PromptError, match="no prompt named"):
        store.get("missing")
    with pytest.raises(PromptError, match="bad prompt version"):
        store.get("answer@x")


def test_user_directory_overrides_shipped(tmp_path: Path) -> None:
    folder = tmp_path / "answer"
    folder.mkdir()
    (folder / "v1.yaml").write_text(
        "variables: [question, context]\nmessages:\n  - role: user\n    content: 'MINE {{ question }}'\n")
    (folder / "labels.json").write_text('{"production": 1}')
    prompt = PromptStore([tmp_path]).get("answer")
    assert prompt.render(question="q", context="c") == [("user", "MINE q")]


def test_malformed_version_file_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "v1.yaml").write_text("messages: [ {role: user\n")
    with pytest.raises(PromptError, match="v1.yaml"):
        PromptStore([tmp_path]).get("broken@1")
