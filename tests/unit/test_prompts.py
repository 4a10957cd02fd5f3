import multiprocessing
from pathlib import Path

import pytest

from ragloom.core.errors import PromptError
from ragloom.prompts import PromptStore, parse_ref
from ragloom.prompts.authoring import archive, create_version, diff, rollback, set_label
from ragloom.prompts.validation import REQUIRED_VARIABLES, validate

# The shipped answer prompt's newest version and the one labelled production; a user's new
# version continues the shipped numbering.
SHIPPED = max(PromptStore().versions("answer"))
PROD = PromptStore().get("answer").version
NEXT = SHIPPED + 1
ANSWER_V2 = [{"role": "system", "content": "Answer briefly from the documents; cite [n]."},
             {"role": "user", "content": "Documents:\n{{ context }}\n\nQ: {{ question }}"}]


@pytest.fixture
def store(tmp_path: Path) -> PromptStore:
    return PromptStore(tmp_path / "user-prompts")


def test_shipped_prompts_are_valid_sealed_and_labelled() -> None:
    store = PromptStore()
    assert set(REQUIRED_VARIABLES) <= set(store.names())
    for name in store.names():
        version = store.get(name)  # verifies the recorded SHA-256
        validate(name, [{"role": r, "content": c} for r, c in version.messages],
                 list(version.variables), version.params)
        assert version.message and len(version.sha256) == 64


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


def test_bad_refs_say_what_exists() -> None:
    store = PromptStore()
    with pytest.raises(PromptError, match="no version 99"):
        store.get("answer@99")
    with pytest.raises(PromptError, match="no label 'nope'"):
        store.get("answer:nope")
    with pytest.raises(PromptError, match="no prompt named"):
        store.get("missing")
    with pytest.raises(PromptError, match="bad prompt version"):
        store.get("answer@x")


def test_new_version_continues_numbering_and_labels_move(store: PromptStore) -> None:
    new = create_version(store, "answer", ANSWER_V2, message="shorter answers", author="ana")
    assert new.ref == f"answer@{NEXT}" and new.author == "ana"
    assert new.variables == ("context", "question")
    assert store.get("answer").version == PROD  # production did not move by itself
    assert set_label(store, "answer", "production", NEXT) == PROD
    assert store.get("answer").version == NEXT
    assert PromptStore().get("answer").version == PROD  # the shipped files are untouched
    assert rollback(store, "answer", "production") == (NEXT, PROD)
    assert store.get("answer").version == PROD
    for earlier in reversed(PromptStore().label_state("answer")["production"]["previous"]):
        assert rollback(store, "answer", "production")[1] == earlier  # the shipped history
    with pytest.raises(PromptError, match="no earlier version"):
        rollback(store, "answer", "production")


def test_rollback_walks_back_through_history(store: PromptStore) -> None:
    for i in range(2):
        create_version(store, "answer", ANSWER_V2 + [{"role": "user", "content": f"v{i}"}],
                       message=f"try {i}")
    first, second = store.versions("answer")[-2:]
    before = store.labels("answer")["production"]
    set_label(store, "answer", "production", first)
    set_label(store, "answer", "production", second)
    assert rollback(store, "answer", "production") == (second, first)
    assert rollback(store, "answer", "production") == (first, before)


def test_invalid_versions_are_refused_with_every_reason(store: PromptStore) -> None:
    with pytest.raises(PromptError) as info:
        create_version(store, "answer", [{"role": "user", "content": "Q: {{ question }}"}],
                       message="no context", variables=["question", "tone"],
                       params={"temprature": 0.2})
    text = str(info.value)
    assert "must use {{ context }}" in text and "never uses: tone" in text
    assert "temprature" in text
    with pytest.raises(PromptError, match="line 1"):
        create_version(store, "answer", [{"role": "user", "content": "{{ context "}], message="x")
    with pytest.raises(PromptError, match="needs a message"):
        create_version(store, "answer", ANSWER_V2, message="  ")
    assert store.versions("answer") == PromptStore().versions("answer")  # nothing was written


def test_tampered_version_is_detected(store: PromptStore) -> None:
    new = create_version(store, "answer", ANSWER_V2, message="new")
    path = store.user_dir / "answer" / f"v{NEXT}.yaml"  # type: ignore[operator]
    path.write_text(path.read_text().replace("briefly", "at length"))
    with pytest.raises(PromptError, match="changed after it was saved"):
        store.get(new.ref)
    with pytest.raises(PromptError, match="changed after it was saved"):
        set_label(store, "answer", "production", NEXT)


def test_diff_shows_text_and_params(store: PromptStore) -> None:
    create_version(store, "answer", ANSWER_V2, message="new", params={"temperature": 0.3})
    text = diff(store, "answer", str(PROD), str(NEXT))
    assert text.startswith(f"--- answer@{PROD}\n+++ answer@{NEXT}")
    assert '+params: {"temperature": 0.3}' in text and "+Answer briefly" in text
    assert diff(store, "answer", "production", str(PROD)) == ""


def test_diff_ignores_a_pure_reordering_of_variables_and_params(store: PromptStore) -> None:
    body = [{"role": "user", "content": "Sum up {{ text }} for {{ reader }}"}]
    create_version(store, "summary", body, message="first", variables=["text", "reader"],
                   params={"temperature": 0.1, "max_tokens": 50})
    create_version(store, "summary", body, message="reordered", variables=["reader", "text"],
                   params={"max_tokens": 50, "temperature": 0.1})
    changed = [line for line in diff(store, "summary", "1", "2").splitlines()
               if line.startswith(("+", "-")) and not line.startswith(("+++", "---", "-# ", "+# "))]
    assert changed == []  # only the header line (its message) differs


def test_brand_new_prompt(store: PromptStore) -> None:
    v = create_version(store, "summary", [{"role": "user", "content": "Sum up {{ text }}"}],
                       message="first", variables=["text"])  # no node passes it: declared
    assert v.ref == "summary@1" and store.labels("summary") == {}
    set_label(store, "summary", "staging", 1)
    assert store.get("summary:staging").render(text="x") == [("user", "Sum up x")]


def _write_versions(user_dir: str, tag: str, n: int) -> None:
    store = PromptStore(Path(user_dir))
    for i in range(n):
        create_version(store, "answer", ANSWER_V2 + [{"role": "user", "content": f"{tag} {i}"}],
                       message=f"{tag} {i}")
        set_label(store, "answer", f"label-{tag}", max(store.versions("answer")))


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    user_dir = str(tmp_path / "shared-prompts")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_versions, args=(user_dir, tag, 8)) for tag in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    store = PromptStore(Path(user_dir))
    # the shipped versions + 16 new, no gaps
    assert store.versions("answer") == list(range(1, SHIPPED + 17))
    messages = sorted(store.get(f"answer@{v}").message for v in range(NEXT, SHIPPED + 17))
    assert messages == sorted(f"{t} {i}" for t in "ab" for i in range(8))
    assert {"label-a", "label-b", "production"} <= set(store.labels("answer"))
    assert not list((Path(user_dir) / "answer").glob(".*.yaml.*"))  # no temp files left


def test_archive_hides_a_version_from_pickers_but_keeps_it(store: PromptStore) -> None:
    bad = create_version(store, "answer", ANSWER_V2, message="worse", author="ana")
    with pytest.raises(PromptError, match=rf"answer@{PROD} is what label\(s\) production point"):
        archive(store, "answer", PROD)  # the label's version stays visible
    archive(store, "answer", bad.version)
    assert bad.version in store.archived("answer") and bad.version not in store.active_versions(
        "answer") and bad.version in store.versions("answer")
    assert store.get(bad.ref).messages == bad.messages  # still readable (history, old runs)
    with pytest.raises(PromptError, match=f"answer@{bad.version} is archived"):
        set_label(store, "answer", "staging", bad.version)
    assert PromptStore(store.user_dir).archived("answer") == {bad.version}  # persisted
    archive(store, "answer", bad.version, undo=True)
    assert bad.version in store.active_versions("answer")
    set_label(store, "answer", "staging", bad.version)
    with pytest.raises(PromptError, match="has no version 99"):
        archive(store, "answer", 99)


def test_archive_from_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ragloom.cli import app
    from ragloom.core.settings import load_settings
    from ragloom.prompts import prompt_store

    home = tmp_path / "home"
    store = prompt_store(load_settings(home=home))
    bad = create_version(store, "answer", ANSWER_V2, message="worse", author="ana")
    runner = CliRunner()
    done = runner.invoke(app, ["--home", str(home), "prompts", "archive", "answer", str(bad.version)])
    assert done.exit_code == 0 and f"answer@{bad.version} archived" in done.output
    listed = runner.invoke(app, ["--home", str(home), "prompts", "list"]).output
    assert f"(archived: {bad.version})" in listed
