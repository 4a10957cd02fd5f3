"""The first-run path of a new user, on the real embedded models and a real embedded Chroma."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ragloom.prompts import PromptStore
from tests.conftest import SAMPLE_CORPUS

pytestmark = pytest.mark.integration
RAGLOOM = [sys.executable, "-m", "ragloom"]
# The shipped answer prompt's production version, and the number the next saved one gets.
PROD = PromptStore().labels("answer")["production"]
NEXT = max(PromptStore().versions("answer")) + 1


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RAGLOOM, "--home", str(home), *args], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[2])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    result = _run(home, "ingest", str(SAMPLE_CORPUS), "--collection", "sample")
    assert result.returncode == 0, result.stderr
    assert "3 ingested" in result.stdout and "now 3 files" in result.stdout
    return home


def test_cited_answer_from_the_pdf(home: Path) -> None:
    result = _run(home, "ask", "What temperature should I brew the Oolong at?", "--collection",
                  "sample", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert "85" in answer["answer"] and not answer["refused"]
    cited = answer["citations"]
    assert cited and cited[0]["source"].endswith("tea-guide.pdf") and cited[0]["page"] == 1
    assert f"[{cited[0]['n']}]" in answer["answer"]
    assert answer["prompts"]["answer"] == f"answer@{PROD}" and answer["graph"] == "corrective"
    assert answer["grounded"] is not False
    assert answer["models"]["chat"] == "local/qwen2.5-coder-0.5b"
    assert answer["timings"]["total"] > 0


def test_question_the_documents_cannot_answer_is_refused(home: Path) -> None:
    result = _run(home, "ask", "Who won the 1998 football world cup?", "--collection", "sample",
                  "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["refused"] and answer["citations"] == []
    assert answer["answer"].startswith("I don't know")


def test_reingest_skips_unchanged_files(home: Path) -> None:
    result = _run(home, "ingest", str(SAMPLE_CORPUS), "--collection", "sample")
    assert result.returncode == 0 and "3 unchanged" in result.stdout


def test_ingest_waits_while_another_process_writes_the_collection(home: Path) -> None:
    from ragloom.core.settings import Settings
    from ragloom.retrieval.locks import collection_write_lock

    settings = Settings(home=home)
    cmd = [*RAGLOOM, "--home", str(home), "ingest", str(SAMPLE_CORPUS), "--collection", "sample"]
    with collection_write_lock(settings, "sample"):  # as an API job or the web app would hold it
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=Path(__file__).resolve().parents[2])
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=20)  # the CLI starts in a few seconds, then waits for the lock
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "waiting: another process is writing collection 'sample'" in err
    assert "3 unchanged" in out


def test_stream_prints_steps_and_the_answer(home: Path) -> None:
    result = _run(home, "ask", "What temperature should I brew the Oolong at?", "--collection",
                  "sample", "--stream", "--graph", "simple")
    assert result.returncode == 0, result.stderr
    assert "retrieving for" in result.stderr and "writing the answer" in result.stderr
    streamed = result.stdout.splitlines()[0]
    assert "degrees" in streamed and "tea-guide.pdf" in result.stdout


def test_doctor_reports_embedded_models_ready(home: Path) -> None:
    result = _run(home, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok") >= 4 and "collections: sample" in result.stdout


def test_missing_collection_is_one_clear_line(home: Path) -> None:
    result = _run(home, "ask", "anything", "--collection", "nothing-here")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: collection 'nothing-here' does not exist")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_minilm_embeddings_rank_paraphrases_first() -> None:
    from ragloom.core.models import get_embeddings
    from ragloom.core.settings import load_settings

    emb = get_embeddings("local/minilm-l6-v2", load_settings())
    q, close, far = emb.embed_documents(["How long is delivery to Canada?",
                                         "Orders to Canada take 7 to 10 business days.",
                                         "Green tea keeps its flavour for a year."])
    dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    assert len(q) == 384 and abs(dot(q, q) - 1) < 1e-4
    assert dot(q, close) > dot(q, far) + 0.2


def test_prompt_workflow_from_the_cli(home: Path, tmp_path: Path) -> None:
    """Create the next answer version (after the shipped ones), ask with it pinned, diff,
    promote, roll back — all from the CLI."""
    new = tmp_path / "answer-new.yaml"
    new.write_text(
        "messages:\n"
        "  - role: system\n"
        "    content: Answer in one short sentence using only the documents. Cite [1].\n"
        "  - role: user\n"
        "    content: |-\n"
        "      Documents:\n      {{ context }}\n\n      Question: {{ question }}\n"
        "params: {temperature: 0.0}\n")
    created = _run(home, "prompts", "new", "answer", "--from", str(new), "-m", "one sentence")
    assert created.returncode == 0 and f"saved answer@{NEXT}" in created.stdout, created.stderr

    answer = _run(home, "ask", "What temperature should I brew the Oolong at?", "--collection",
                  "sample", "--graph", "simple", "--prompt", f"answer@{NEXT}", "--json")
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["prompts"] == {"answer": f"answer@{NEXT}"}

    diff = _run(home, "prompts", "diff", "answer", str(PROD), str(NEXT))
    assert "+Answer in one short sentence" in diff.stdout and "\n-" in diff.stdout
    promoted = _run(home, "prompts", "label", "answer", str(NEXT), "production").stdout
    assert f"production {PROD} → {NEXT}" in promoted
    listed = _run(home, "prompts", "list").stdout
    assert f"production→{NEXT}" in listed
    assert f"production {NEXT} → {PROD}" in _run(home, "prompts", "rollback", "answer").stdout

    bad = tmp_path / "bad.txt"
    bad.write_text("Answer {{ question }} without documents.")
    refused = _run(home, "prompts", "new", "answer", "--from", str(bad), "-m", "no context")
    assert refused.returncode == 2 and "must use {{ context }}" in refused.stderr
    rendered = _run(home, "prompts", "render", f"answer@{NEXT}", "--var", "context=[1] x",
                    "--var", "question=Why?")
    assert "Question: Why?" in rendered.stdout
