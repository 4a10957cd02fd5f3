"""The review queue from the web app and the API, and the Prompts page's Experiments tab: on a
real SQLite home, with answers whose citations the claim check dropped."""

from __future__ import annotations

import json

import yaml

from ragloom.agents.traces import TraceStore
from ragloom.evals.review import ReviewQueue
from ragloom.evals.runs import dataset_version
from ragloom.evals.suites import load_suite
from tests.unit.api_helpers import client, fill, key
from tests.unit.test_ui_support import app_test, fake_services, sample_collection, texts


def _trace(settings, question: str, dropped: int) -> str:  # type: ignore[no-untyped-def]
    body = {"question": question, "answer": "Brew it at 85 degrees Celsius.", "refused": False,
            "collection": "sample", "graph": "simple", "dropped_citations": dropped,
            "citations": [{"n": 1, "source": "/docs/tea-guide.pdf", "text": "Oolong: brew at 85"}],
            "steps": [{"node": "generate_answer", "seconds": 0.1}]}
    store = TraceStore(settings.home / "traces.sqlite")
    try:
        return store.save(body)
    finally:
        store.close()


def _suite(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "rows.jsonl").write_text(json.dumps({"id": "q1", "question": "Q?"}) + "\n")
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"path": "rows.jsonl"}, "collection": {
        "name": "sample", "paths": []}, "metrics": ["answer_contains"]}))
    return path


def test_a_reviewer_accepts_a_dropped_citation_answer_in_the_web_app(settings, tmp_path) -> None:
    dropped = _trace(settings, "How hot for Oolong?", 1)
    _trace(settings, "Fine answer?", 0)  # nothing dropped: not queued
    suite = _suite(tmp_path)
    before = dataset_version(load_suite(suite).rows())
    at = app_test(settings, fake_services(), page="review")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "1 new item(s) collected" in texts(at)
    item = at.selectbox(key="rv-item").value
    assert item["trace_id"] == dropped and item["kind"] == "citations-dropped"
    assert "Oolong: brew at 85" in texts(at)  # the source the answer cited, shown
    at.text_input(key=f"rv-path-{item['id']}").set_value(str(suite))
    at.text_area(key=f"rv-ref-{item['id']}").set_value("85 °C")
    at.button(key=f"rv-accept-{item['id']}").click().run()
    assert not at.error, [e.value for e in at.error]
    assert at.success and "Accepted into mine" in at.success[0].value
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert rows[-1]["reference"] == "85 °C" and rows[-1]["gold_sources"] == ["tea-guide.pdf"]
    assert dataset_version(load_suite(suite).rows()) != before
    assert ReviewQueue.for_settings(settings).items() == []  # decided: gone from the open list
    assert "No open items." in texts(at)


def test_accepting_without_a_reference_is_an_inline_error_and_changes_nothing(
        settings, tmp_path) -> None:
    _trace(settings, "How hot for Oolong?", 2)
    suite = _suite(tmp_path)
    at = app_test(settings, fake_services(), page="review")
    at.run()
    item = at.selectbox(key="rv-item").value
    at.text_input(key=f"rv-path-{item['id']}").set_value(str(suite))
    at.button(key=f"rv-accept-{item['id']}").click().run()
    assert at.error and "needs a reference answer" in at.error[0].value
    assert len((tmp_path / "rows.jsonl").read_text().splitlines()) == 1
    at.button(key=f"rv-discard-{item['id']}").click().run()
    assert [i["status"] for i in ReviewQueue.for_settings(settings).items(None)] == ["discarded"]


def test_the_review_api_lists_shows_and_decides_for_admins_only(settings) -> None:
    fill(settings)
    trace = _trace(settings, "How hot for Oolong?", 1)
    with client(settings) as api:
        admin, user = key(settings, "admin"), key(settings, "user", star="read")
        assert api.get("/review", headers=user).status_code == 403
        listed = api.get("/review", headers=admin).json()
        assert listed["collected"] == 1 and listed["items"][0]["trace_id"] == trace
        item_id = listed["items"][0]["id"]
        shown = api.get(f"/review/{item_id}", headers=admin).json()
        assert shown["trace"]["question"] == "How hot for Oolong?"
        bad = api.post(f"/review/{item_id}/accept", headers=admin,
                       json={"suite": "../../etc/x", "reference": "85"})
        assert bad.status_code == 422  # suites by name only: no paths from clients
        gone = api.post(f"/review/{item_id}/discard", headers=admin, json={"why": "fine"})
        assert gone.status_code == 200
        again = api.post(f"/review/{item_id}/discard", headers=admin, json={})
        assert again.status_code == 409 and "already decided" in again.text
        assert api.get("/review/nope", headers=admin).status_code == 404
        assert api.get("/review", headers=admin).json() == {"collected": 0, "items": []}


def test_the_experiments_tab_starts_reports_and_stops_an_experiment(settings) -> None:
    from ragloom.evals.experiments import ExperimentStore

    sample_collection(settings)
    at = app_test(settings, fake_services(), page="prompts")
    at.text_input(key="pr-exp-variants-answer").set_value("production=50, 1=50")
    at.button(key="pr-exp-start-answer").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    running = ExperimentStore.for_settings(settings).running("answer")
    assert running is not None and [v.weight for v in running.variants] == [50, 50]
    at.run()
    table = next(d.value for d in at.dataframe if "variant" in d.value.columns)
    assert list(table["answers"]) == [0, 0] and "tokens / answer" in table.columns
    at.button(key="pr-exp-stop").click().run()
    assert not at.error and ExperimentStore.for_settings(settings).running("answer") is None
    bad = app_test(settings, fake_services(), page="prompts")
    bad.text_input(key="pr-exp-variants-answer").set_value("production=50")
    bad.button(key="pr-exp-start-answer").click().run()
    assert bad.error and "starting the experiment failed" in bad.error[0].value
