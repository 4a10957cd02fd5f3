"""Evaluation-gated promotion and the review loop, end to end with the fake OpenAI-compatible host
(which answers from the documents it is shown, as a cooperative model would): a version that
hides the documents from the model is refused, the label does not move and the audit log says
so; a version that keeps them passes; --force promotes past a refusing gate and is recorded; a
second gate on the same versions reuses the finished runs instead of answering again; and the
whole loop: a thumbs-down answer is queued, a reviewer's corrected reference becomes a new
dataset version, and the gates run again on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.servers import fake_model_host

# A hung subprocess or queue call fails its test instead of stalling the suite.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "evals" / "suites"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("gate")
    with fake_model_host(root / "model.log") as host:
        base = {k: v for k, v in os.environ.items() if not k.startswith("RAGLOOM_")}
        yield {**base, "RAGLOOM_HOME": str(root / "home"), "RAGLOOM_CHAT": "openai/fake",
               "RAGLOOM_EMBEDDING": "openai/fake-embed", "RAGLOOM_JUDGE": "openai/fake",
               "RAGLOOM_OPENAI__BASE_URL": f"{host}/v1", "PYTHONPATH": str(ROOT),
               "GATE_ROOT": str(root)}


def _ragloom(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ragloom", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def _settings(env: dict[str, str]):  # type: ignore[no-untyped-def]
    """The settings of the ``env`` processes, for in-process apps and stores."""
    from ragloom.core.settings import load_settings

    return load_settings(home=Path(env["RAGLOOM_HOME"]), chat="openai/fake",
                         embedding="openai/fake-embed", judge="openai/fake",
                         openai={"base_url": env["RAGLOOM_OPENAI__BASE_URL"]})


def _suite(root: Path) -> Path:
    path = root / "gated.yaml"
    (root / "rows.jsonl").write_text((SUITES / "sample.jsonl").read_text())  # reviews append here
    path.write_text(yaml.safe_dump({
        "name": "gated", "dataset": {"path": "rows.jsonl"},
        "collection": {"name": "gated-sample", "paths": [str(ROOT / "ragloom" / "sample_corpus")]},
        "graph": "simple", "metrics": ["answer_contains", "retrieval_recall", "refusal"],
        "gate": [{"metric": "answer_contains", "margin": 0.1, "min_n": 5},
                 {"metric": "retrieval_recall", "margin": 0.05, "min_n": 5}]}))
    return path


def _version(env: dict[str, str], root: Path, name: str, context: str, message: str) -> int:
    spec = root / f"{name}.yaml"
    spec.write_text(yaml.safe_dump({"variables": ["question", "context"], "messages": [
        {"role": "system", "content": "Answer from the documents in a few words. If they do "
         "not contain the answer, reply: I don't know."},
        {"role": "user", "content": f"<documents>\n{context}\n</documents>\n\n"
         "Question: {{ question }}\nShort answer:"}]}))
    made = _ragloom(env, "prompts", "new", "answer", "--from", str(spec), "-m", message)
    assert made.returncode == 0, made.stderr
    return int(made.stdout.strip().splitlines()[0].rsplit("@", 1)[-1])


def _production(env: dict[str, str]) -> int:
    shown = _ragloom(env, "prompts", "list")
    line = next(ln for ln in shown.stdout.splitlines() if ln.split() and ln.split()[0] == "answer")
    return int(line.split("production→")[1].split(",")[0].split()[0])


def test_a_worse_version_is_refused_a_good_one_passes_and_force_is_audited(env) -> None:
    root = Path(env["GATE_ROOT"])
    suite = _suite(root)
    shipped = _production(env)
    # Hides every document from the model (the fake host then finds no source: "I don't know").
    worse = _version(env, root, "worse", '{{ context | replace("<<<", "(") }}',
                     "drops the documents' delimiters")
    good = _version(env, root, "good", "{{ context }}", "the documents as they are")

    refused = _ragloom(env, "prompts", "promote", "answer", str(worse), "--gate", str(suite),
                       "--json")
    assert refused.returncode == 1, refused.stdout
    result = json.loads(refused.stdout)
    contains = next(c for c in result["checks"] if c["metric"] == "answer_contains")
    assert not result["passed"] and not contains["passed"] and contains["paired"] == 10
    assert contains["delta"] < -0.1 and contains["ci95"][0] < -0.1
    assert next(c for c in result["checks"] if c["metric"] == "retrieval_recall")["passed"]
    assert "refused" in refused.stderr and _production(env) == shipped  # nothing moved

    passed = _ragloom(env, "prompts", "promote", "answer", str(good), "--gate", str(suite))
    assert passed.returncode == 0, passed.stderr + passed.stdout
    assert "pass" in passed.stdout and f"{shipped} → {good}" in passed.stdout
    assert "reused run" in passed.stderr  # the current version's run from the refused gate
    assert _production(env) == good

    forced = _ragloom(env, "prompts", "promote", "answer", str(worse), "--gate", str(suite),
                      "--force")
    assert forced.returncode == 0 and "FORCED" in forced.stdout, forced.stderr
    assert _production(env) == worse
    from ragloom.api.audit import audit_log

    log = audit_log(_settings(env))
    try:
        outcomes = [(e["target"], e["outcome"]) for e in log.entries()
                    if e["action"] == "prompt.promote"]
    finally:
        log.close()
    assert outcomes == [(f"answer@{worse}", "forced"), (f"answer@{good}", "ok"),
                        (f"answer@{worse}", "refused")]  # newest first


def test_a_suite_without_a_gate_is_refused_with_the_fix(env) -> None:
    done = _ragloom(env, "prompts", "promote", "answer", "1", "--gate", "sample-ci")
    assert done.returncode != 0 and "no gate: section" in done.stderr, done.stderr


def test_the_web_app_promote_button_runs_the_gate_and_shows_its_table(env, monkeypatch) -> None:
    """After the CLI test: production is the forced worse version; the good one passes the gate
    from the web app, then the worse one is refused there (both reuse the CLI's runs)."""
    from ragloom.prompts import prompt_store
    from ragloom.ui import page_prompts
    from tests.unit.test_ui_support import app_test, fake_services

    root = Path(env["GATE_ROOT"])
    settings = _settings(env)
    store = prompt_store(settings)
    worse, good = store.versions("answer")[-2:]
    assert store.labels("answer")["production"] == worse
    monkeypatch.setattr(page_prompts, "_gated_suites", lambda: [str(root / "gated.yaml")])
    monkeypatch.setattr(page_prompts, "settings", lambda: settings)
    at = app_test(settings, fake_services(), page="prompts")
    at.selectbox(key="pr-name").set_value("answer").run()
    for version, moved in ((good, True), (worse, False)):
        at.selectbox(key="pr-label-answer").set_value("production")
        at.selectbox(key="pr-label-v-answer").set_value(version)
        at.selectbox(key="pr-gate-suite-answer").set_value(str(root / "gated.yaml"))
        at.button(key="pr-label-set-answer").click().run()
        at.button(key="pr-label-yes-answer").click()  # the confirmation a label move asks for
        at.run(timeout=300)
        assert not at.exception, at.exception
        gate = at.session_state["pr-gate-answer"]
        assert gate["candidate"] == version and gate["passed"] is moved
        assert prompt_store(settings).labels("answer")["production"] == good
        assert (not at.error) is moved, [e.value for e in at.error]
    assert "does not pass the gate" in at.error[0].value
    assert any("FAIL" in str(v) for v in at.dataframe[-1].value["verdict"])


def test_the_api_moves_a_label_through_the_gate_or_answers_409_with_its_table(env) -> None:
    from fastapi.testclient import TestClient

    from ragloom.api.app import create_app
    from ragloom.prompts import prompt_store

    root = Path(env["GATE_ROOT"])
    settings = _settings(env)
    worse, good = prompt_store(settings).versions("answer")[-2:]
    gate = str(root / "gated.yaml")
    with TestClient(create_app(settings, auth=False)) as api:
        refused = api.put("/prompts/answer/labels/production",
                          json={"version": worse, "gate": gate})
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert "does not pass the gate" in body["error"] and body["gate"]["passed"] is False
        assert prompt_store(settings).labels("answer")["production"] == good
        forced = api.put("/prompts/answer/labels/production",
                         json={"version": worse, "gate": gate, "force": True})
        assert forced.status_code == 200 and forced.json()["gate"]["passed"] is False
        back = api.put("/prompts/answer/labels/production", json={"version": good, "gate": gate})
        assert back.status_code == 200 and back.json()["gate"]["passed"] is True, back.text
        actions = [(e["outcome"], e["target"]) for e in api.get("/audit").json()
                   if e["action"] == "prompt.promote"][:3]
    assert actions == [("ok", f"answer@{good}"), ("forced", f"answer@{worse}"),
                       ("refused", f"answer@{worse}")]


def test_the_loop_thumbs_down_review_new_dataset_version_then_the_gate(env) -> None:
    from fastapi.testclient import TestClient

    from ragloom.api.app import create_app
    from ragloom.evals.review import ReviewQueue
    from ragloom.prompts import prompt_store

    root = Path(env["GATE_ROOT"])
    settings = _settings(env)
    worse, good = prompt_store(settings).versions("answer")[-2:]
    question = "How many grams of black tea go into 250 ml?"
    with TestClient(create_app(settings, auth=False)) as api:
        asked = api.post("/ask", json={"question": question, "collection": "gated-sample",
                                       "graph": "simple"})
        assert asked.status_code == 200, asked.text
        trace = asked.json()["trace_id"]
        rated = api.post(f"/traces/{trace}/feedback",
                         json={"rating": "down", "comment": "should say 3 grams"})
        assert rated.status_code == 200, rated.text
    listed = _ragloom(env, "review", "list")
    assert listed.returncode == 0 and "collected 1 new item" in listed.stderr, listed.stderr
    (item,) = [i for i in ReviewQueue.for_settings(settings).items()
               if i["source"] == f"feedback:{trace}"]
    assert item["question"] == question and item["comment"] == "should say 3 grams"
    accepted = _ragloom(env, "review", "accept", item["id"], "--suite", str(root / "gated.yaml"),
                        "--reference", "3 grams per 250 ml", "--gold", "tea-guide.pdf")
    assert accepted.returncode == 0, accepted.stderr
    before, after = accepted.stdout.strip().rsplit("dataset ", 1)[1].split(" → ")
    assert before != after
    rows = (root / "rows.jsonl").read_text().splitlines()
    assert len(rows) == 11 and json.loads(rows[-1])["reference"] == "3 grams per 250 ml"
    assert _ragloom(env, "review", "versions", str(root / "gated.yaml")).stdout.split() == [
        before, after]
    again = _ragloom(env, "review", "list")
    assert item["id"] not in again.stdout and "collected" not in again.stderr  # decided, once

    # The gates now run on the new version of the dataset: nothing of the older runs is reused.
    refused = _ragloom(env, "prompts", "promote", "answer", str(worse), "--gate",
                       str(root / "gated.yaml"), "--json")
    assert refused.returncode == 1 and "reused run" not in refused.stderr, refused.stderr
    contains = next(c for c in json.loads(refused.stdout)["checks"]
                    if c["metric"] == "answer_contains")
    assert contains["paired"] == 11 and not contains["passed"]
    assert _ragloom(env, "prompts", "label", "answer", str(worse), "production").returncode == 0
    passed = _ragloom(env, "prompts", "promote", "answer", str(good), "--gate",
                      str(root / "gated.yaml"))
    assert passed.returncode == 0 and "reused run" in passed.stderr, passed.stderr
    assert _production(env) == good


def test_rated_and_reviewed_answers_export_as_finetuning_data(env) -> None:
    """After the loop: the corrected 👎 answer exports with the reviewer's reference; a 👍 and a
    👎 answer to one question (asked with two prompt versions) make a preference pair."""
    from fastapi.testclient import TestClient

    from ragloom.api.app import create_app
    from ragloom.prompts import prompt_store

    root = Path(env["GATE_ROOT"])
    settings = _settings(env)
    worse, good = prompt_store(settings).versions("answer")[-2:]
    question = "At what temperature should the Brackenford Oolong be brewed?"
    with TestClient(create_app(settings, auth=False)) as api:
        for version, rating in ((good, "up"), (worse, "down")):
            r = api.post("/ask", json={"question": question, "collection": "gated-sample",
                                       "graph": "simple", "prompts": [f"answer@{version}"]})
            assert r.status_code == 200, r.text
            assert api.post(f"/traces/{r.json()['trace_id']}/feedback",
                            json={"rating": rating}).status_code == 200
    corrected = _ragloom(env, "export", "finetune", "--rating", "down", "-o",
                         str(root / "down.jsonl"))
    assert corrected.returncode == 0 and "wrote 1 example" in corrected.stdout, corrected.stderr
    (example,) = [json.loads(line) for line in (root / "down.jsonl").read_text().splitlines()]
    roles = [m["role"] for m in example["messages"]]
    assert roles == ["system", "user", "assistant"] and example["metadata"]["corrected"]
    assert example["messages"][-1]["content"] == "3 grams per 250 ml"  # the reviewer's answer
    assert "<<<" in example["messages"][1]["content"]  # the sources as the model saw them
    assert example["metadata"]["model"] == "openai/fake"
    ups = _ragloom(env, "export", "finetune", "-o", str(root / "up.jsonl"))
    lines = [json.loads(line) for line in (root / "up.jsonl").read_text().splitlines()]
    assert ups.returncode == 0 and lines and all(not e["metadata"]["corrected"] for e in lines)
    assert lines[0]["metadata"]["prompt"] == f"answer@{good}" and "85" in \
        lines[0]["messages"][-1]["content"]
    pairs = _ragloom(env, "export", "finetune", "--preference", "-o", str(root / "pairs.jsonl"))
    (pair,) = [json.loads(line) for line in (root / "pairs.jsonl").read_text().splitlines()]
    assert pairs.returncode == 0 and "85" in pair["chosen"] and pair["rejected"] == "I don't know."


def test_an_experiment_splits_200_asks_stickily_and_reports_what_the_traces_say(env) -> None:
    from fastapi.testclient import TestClient

    from ragloom.api.app import create_app
    from ragloom.prompts import prompt_store

    settings = _settings(env)
    worse, good = prompt_store(settings).versions("answer")[-2:]
    questions = [json.loads(line)["question"] for line in
                 (SUITES / "sample.jsonl").read_text().splitlines() if line.strip()]
    seen: dict[str, set[str]] = {}
    by_variant: dict[str, list[dict]] = {}
    with TestClient(create_app(settings, auth=False)) as api:
        started = api.post("/experiments", json={"prompt": "answer",
                                                 "variants": [f"{worse}=50", f"{good}=50"]})
        assert started.status_code == 201, started.text
        exp_id = started.json()["id"]
        again = api.post("/experiments", json={"variants": ["production=1", f"{good}=1"]})
        assert again.status_code == 422 and "already running" in again.json()["error"]
        for i in range(200):  # 100 conversations of two questions each
            r = api.post("/ask", json={"question": questions[i % len(questions)],
                                       "collection": "gated-sample", "graph": "simple",
                                       "thread": f"user{i % 100}"})
            assert r.status_code == 200, r.text
            answer = r.json()
            assert answer["experiment"]["id"] == exp_id
            variant = answer["experiment"]["variant"]
            seen.setdefault(f"user{i % 100}", set()).add(variant)
            by_variant.setdefault(variant, []).append(answer)
            if i < 20:
                api.post(f"/traces/{answer['trace_id']}/feedback",
                         json={"rating": "down" if answer["refused"] else "up"})
        pinned = api.post("/ask", json={"question": questions[0], "collection": "gated-sample",
                                        "graph": "simple", "prompts": [f"answer@{good}"]})
        assert pinned.json()["experiment"] is None  # a pinned prompt is not in the experiment
        report = api.get(f"/experiments/{exp_id}/report").json()
        assert api.post(f"/experiments/{exp_id}/stop").json()["status"] == "stopped"
        after = api.post("/ask", json={"question": questions[0], "collection": "gated-sample",
                                       "graph": "simple", "thread": "user0"})
        assert after.json()["experiment"] is None
    assert all(len(v) == 1 for v in seen.values())  # sticky: one variant per conversation
    counts = {name: len(answers) for name, answers in by_variant.items()}
    assert set(counts) == {str(worse), str(good)} and 70 <= counts[str(good)] <= 130, counts
    for v in report["variants"]:
        mine = by_variant[v["name"]]
        assert v["answers"] == len(mine) and v["prompts_used"] == [v["ref"]]
        assert v["refusal_rate"]["value"] == sum(a["refused"] for a in mine) / len(mine)
        lo, hi = v["refusal_rate"]["ci95"]
        assert lo <= v["refusal_rate"]["value"] <= hi
        # Tokens per variant are the answers' own counts, added up (the host reports them).
        assert v["usage"]["answers"] == len(mine)
        assert v["usage"]["total_tokens"] == sum(a["usage"]["total_tokens"] for a in mine) > 0
    worse_v = next(v for v in report["variants"] if v["name"] == str(worse))
    good_v = next(v for v in report["variants"] if v["name"] == str(good))
    assert worse_v["refusal_rate"]["value"] > 0.9 > good_v["refusal_rate"]["value"]
    assert sum(v["thumbs_up"]["n"] for v in report["variants"]) == 20
    assert good_v["thumbs_up"]["value"] == 1.0 and worse_v["thumbs_up"]["value"] == 0.0
    shown = _ragloom(env, "experiments", "report", exp_id)
    assert shown.returncode == 0 and "stopped" in shown.stdout, shown.stderr
