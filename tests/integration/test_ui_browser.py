"""The real app in a real browser: `streamlit run app.py` driven by headless Debian Chromium.

A new user's path without a terminal: upload their own PDF, ask (embedded Qwen 0.5B + MiniLM),
watch the answer stream, click its citation, open the cited PDF page, open its trace, save a prompt
version and promote it (after a confirmation), evaluate and open a row's trace, archive a version,
run the playground on two versions, reopen the chat, stop an answer; a screenshot of every page goes to
``RAGLOOM_SCREENSHOTS`` (default: the test's tmp dir).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragloom.prompts import PromptStore
from tests.integration.browser import chromium, wait_for
from tests.integration.servers import free_port
from tests.pdf_builder import build_pdf

pytestmark = pytest.mark.integration
log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
# Read at import: the suite's autouse fixture clears RAGLOOM_* variables before each test.
SCREENSHOTS = os.environ.get("RAGLOOM_SCREENSHOTS")
UPDATE_DOCS = bool(os.environ.get("RAGLOOM_UPDATE_DOCS_SCREENSHOTS"))
LIGHTHOUSE = [["Harbor lighthouse maintenance log", "",
               "The lamp of the north lighthouse is cleaned every 14 days.",
               "The fog horn is tested on the first Monday of each month.",
               "Keepers record the oil level in the blue ledger."]]


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "RAGLOOM_HOME": str(tmp_path / "home"),
           "RAGLOOM_AGENT__GRAPH": "simple"}  # one model call per answer keeps the test short
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless",
           "true", "--browser.gatherUsageStats", "false", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]
    log_file = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                    break
            assert proc.poll() is None, (tmp_path / "streamlit.log").read_text()
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_file.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(SCREENSHOTS or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Page:
    """Small helpers over Streamlit's DOM (data-testid attributes)."""

    def __init__(self, driver: Any, shots: Path):
        from selenium.webdriver.common.by import By

        self.d, self.by, self.shots = driver, By, shots

    def css(self, selector: str) -> list[Any]:
        return self.d.find_elements(self.by.CSS_SELECTOR, selector)

    def text(self) -> str:
        return str(self.d.find_element(self.by.TAG_NAME, "body").text)

    def idle(self, timeout: float = 60.0) -> None:
        """Wait until the script has finished its run (no 'Running…' indicator)."""
        time.sleep(0.5)
        wait_for("the app to finish running", lambda: not self.css('[data-testid="stStatusWidget"]'),
              timeout)

    def nav(self, title: str) -> None:
        link = wait_for(f"the {title} link", lambda: next(
            a for a in self.css('[data-testid="stSidebarNavLink"]')
            if a.text.strip().endswith(title)))
        link.click()
        wait_for(f"the {title} page", lambda: any(h.text.strip() == title for h in self.css("h1")))
        self.idle()

    def button(self, label: str) -> Any:
        # An icon button's text starts with the icon's name (a ligature): match the label line.
        return wait_for(f"button {label!r}", lambda: next(
            b for b in self.css("button")
            if b.text.strip().split("\n")[-1] == label and b.is_displayed()))

    def tab(self, label: str) -> None:
        wait_for(f"tab {label!r}", lambda: next(
            t for t in self.css('[role="tab"]') if t.text.strip() == label)).click()
        time.sleep(0.3)

    def select(self, label: str, option: str) -> None:
        """Pick ``option`` in the shown selectbox labelled ``label``."""
        from selenium.webdriver.common.keys import Keys

        box = wait_for(f"selectbox {label!r}", lambda: next(
            b for b in self.css('[data-testid="stSelectbox"]')
            if b.is_displayed() and b.text.split("\n")[0].strip() == label))
        field = box.find_element(self.by.TAG_NAME, "input")
        field.click()
        field.send_keys(option)
        time.sleep(0.5)
        field.send_keys(Keys.ENTER)
        self.idle()

    def shot(self, name: str) -> None:
        self.d.save_screenshot(str(self.shots / f"{name}.png"))


def test_upload_ask_cite_and_version_a_prompt_in_a_browser(app_url, browser, shots, tmp_path
                                                            ) -> None:
    page = Page(browser, shots)
    try:
        _journey(page, app_url, tmp_path)
    except BaseException:
        page.shot("failure")  # what the browser showed when it went wrong
        (shots / "failure.txt").write_text(page.text())
        raise
    assert all((shots / f"{n}.png").stat().st_size > 10_000
               for n in ("documents", "ask", "viewer", "traces", "prompts", "evaluations",
                         "eval-trace", "compare", "archive", "playground", "chats", "stop",
                         "settings"))
    server_log = (tmp_path / "streamlit.log").read_text()
    assert "Traceback" not in server_log, server_log[-3000:]
    if UPDATE_DOCS:
        for png in shots.glob("*.png"):
            if png.stem != "failure":
                shutil.copy(png, ROOT / "docs" / "screenshots" / png.name)


_STREAMED_TEXT = """return Array.from(document.querySelectorAll('[data-testid="stChatMessage"]'))
  .slice(1).flatMap(m => Array.from(m.querySelectorAll('[data-testid="stMarkdownContainer"]')))
  .filter(e => !e.closest('[data-testid="stExpander"]') && !e.closest('button'))
  .map(e => e.innerText).join(' ').trim()"""


def _journey(page: Page, app_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    browser = page.d
    browser.get(app_url)
    wait_for("the Ask page", lambda: "No collection yet" in page.text())
    page.idle()

    # Documents: upload our own PDF into a new collection.
    pdf = tmp_path / "lighthouse log.pdf"
    pdf.write_bytes(build_pdf(LIGHTHOUSE))
    page.nav("Documents")
    name_box = wait_for("the new collection box", lambda: next(
        i for i in page.css('[data-testid="stTextInput"] input')
        if i.get_attribute("placeholder", ) and "my-docs" in i.get_attribute("placeholder")))
    name_box.send_keys("harbor", Keys.ENTER)
    page.idle()
    page.css('input[type="file"]')[0].send_keys(str(pdf))
    wait_for("the upload", lambda: "lighthouse log.pdf" in page.text())
    page.button("Ingest").click()
    wait_for("ingestion", lambda: "1 ingested" in page.text(), timeout=120)
    page.idle()
    page.shot("documents")
    assert (tmp_path / "home" / "uploads" / "harbor" / "lighthouse log.pdf").is_file()

    # Ask: the answer streams in, then shows a clickable citation into the sources panel.
    page.nav("Ask")
    box = wait_for("the chat box", lambda: page.css('[data-testid="stChatInputTextArea"]')[0])
    start = time.monotonic()
    box.send_keys("How often is the lamp of the north lighthouse cleaned?", Keys.ENTER)
    # Tokens: answer text outside the status box, while the final answer (with links) is not
    # there yet.
    partial = wait_for("streamed tokens", lambda: not page.css("a.ragloom-cite") and page.d
                    .execute_script(_STREAMED_TEXT), timeout=120)
    first_token = time.monotonic() - start
    cite = wait_for("a citation link", lambda: page.css("a.ragloom-cite")[0], timeout=120)
    answer = page.css('[data-testid="stChatMessage"]')[1].text
    assert "14" in answer, answer
    log.warning("first token after %.1fs, cited answer after %.1fs; streamed %r, then %r",
                first_token, time.monotonic() - start, partial, answer)
    cite.click()
    target = cite.get_attribute("href").split("#", 1)[1]
    source = browser.find_element(page.by.ID, target)
    assert "lighthouse log.pdf, page 1" in source.text
    assert "cleaned every 14 days" in source.find_element(page.by.TAG_NAME, "mark").text
    page.idle()
    page.shot("ask")

    # The citation's PDF page, rendered with the cited passage highlighted.
    wait_for("the Open page toggle", lambda: next(
        t for t in page.css('[data-testid="stCheckbox"] label') if "Open page 1" in t.text)).click()
    image = wait_for("the rendered page", lambda: page.css('[data-testid="stImage"] img')[0],
                     timeout=60)
    assert "the cited passage is highlighted" in page.text(), page.text()[-2000:]
    size = page.d.get_window_size()
    page.d.set_window_size(size["width"], 2400)  # tall enough for the answer and the page
    page.d.execute_script("arguments[0].scrollIntoView({block: 'end'})", image)
    time.sleep(1.5)
    page.shot("viewer")
    page.d.set_window_size(size["width"], size["height"])

    # Traces: the answer's trace, opened from the list: timeline, model calls, chunks.
    page.nav("Traces")
    wait_for("the trace view", lambda: "Retrieved chunks" in page.text() and "Timeline"
             in page.text(), timeout=60)
    wait_for("the timeline chart", lambda: page.css('[data-testid="stVegaLiteChart"]'))
    call = wait_for("a model call", lambda: next(
        e for e in page.css('[data-testid="stExpander"] summary') if "generate_answer" in e.text))
    call.click()
    wait_for("the prompt as sent", lambda: "How often is the lamp" in page.text()
             and "completion" in page.text())
    assert "cosine similarity" in page.text() and "lighthouse log.pdf" in page.text()
    time.sleep(1)
    page.shot("traces")

    # Prompts: save a new answer version, then promote it to production.
    page.nav("Prompts")
    page.tab("Edit → new version")
    editor = wait_for("the prompt editor", lambda: next(
        t for t in page.css('[data-testid="stTextArea"] textarea') if t.is_displayed()
        and "messages:" in (t.get_attribute("value") or "")))
    editor.click()
    editor.send_keys(Keys.CONTROL, Keys.END)
    editor.send_keys(" Answer in one sentence.")
    message = next(i for i in page.css('[data-testid="stTextInput"] input')
                   if i.is_displayed() and "shorter answers" in (i.get_attribute("placeholder") or ""))
    message.send_keys("one-sentence answers")
    next(i for i in page.css('[data-testid="stTextInput"] input')
         if i.is_displayed() and "recorded as the author" in (i.get_attribute("placeholder") or "")
         ).send_keys("Mari")
    page.button("Save as new version").click()
    new = max(PromptStore().versions("answer")) + 1  # after the shipped versions
    wait_for("the saved version", lambda: f"Saved answer@{new}" in page.text())
    page.shot("prompts")
    page.tab("Labels")
    page.button("Move label").click()  # defaults: production -> the newest version
    wait_for("the confirmation", lambda: "Every answer that uses the label changes" in page.text())
    store = PromptStore(tmp_path / "home" / "prompts")
    assert store.labels("answer")["production"] != new  # nothing moved before the second click
    page.button("Yes, move it").click()
    wait_for("production to move", lambda: store.labels("answer")["production"] == new)
    assert "Answer in one sentence." in store.get("answer:production").messages[-1][1]

    _evaluate(page, [f"answer@{new - 1}", f"answer@{new}"])
    _archive_and_play(page, store, new)

    page.nav("Ask")  # the conversation survived the page switches
    wait_for("the earlier answer", lambda: "every 14 days" in page.text())
    # A new chat starts empty; the past one is in the sidebar and comes back with its answer.
    wait_for("the New chat button", lambda: next(
        b for b in page.css('[data-testid="stSidebar"] button') if "New chat" in b.text)).click()
    wait_for("an empty chat", lambda: "every 14 days" not in page.text())
    past = wait_for("the past chat", lambda: next(
        b for b in page.css('[data-testid="stSidebar"] button')
        if b.text.strip().startswith("How often is the lamp")))
    past.click()
    wait_for("the reopened chat", lambda: "every 14 days" in page.text() and page.css(
        "a.ragloom-cite"))
    page.idle()
    page.shot("chats")
    _stop(page)

    page.nav("Settings & health")
    page.button("Run health checks").click()
    wait_for("health results", lambda: "store: chroma" in page.text())
    page.shot("settings")


def _evaluate(page: Page, refs: list[str]) -> None:
    """Run the sample suite on one question per prompt version (no judge: seconds, not minutes),
    then look at the results and compare the two runs."""
    from selenium.webdriver.common.keys import Keys

    page.nav("Evaluations")
    switch = wait_for("the judge switch", lambda: page.css('input[role="switch"]')[0])
    page.d.execute_script("arguments[0].click()", switch)
    page.idle()
    versions = wait_for("the prompt versions box", lambda: next(
        m for m in page.css('[data-testid="stMultiSelect"]') if "Answer prompt" in m.text))
    box = versions.find_element(page.by.TAG_NAME, "input")
    for ref in refs:
        box.click()
        box.send_keys(ref, Keys.ENTER)
        time.sleep(0.5)
    page.d.find_element(page.by.TAG_NAME, "h1").click()  # close the dropdown
    rows = page.css('[data-testid="stNumberInput"] input')[0]
    rows.send_keys(Keys.CONTROL, "a")
    rows.send_keys("1", Keys.TAB)
    page.idle()
    page.button("Run evaluation").click()
    wait_for("the evaluation to finish", lambda: "Finished 2 run(s)" in page.text(), timeout=240)
    page.idle()
    page.tab("Results")
    wait_for("the results chart", lambda: page.css('[data-testid="stPlotlyChart"]'))
    time.sleep(1)
    page.shot("evaluations")
    page.select("Why did a row score as it did? Open its trace", "oolong")
    wait_for("the row's trace", lambda: "Retrieved chunks" in page.text(), timeout=60)
    time.sleep(1)
    page.shot("eval-trace")
    page.tab("Compare")
    wait_for("the comparison", lambda: "B − A over the rows scored in both runs" in page.text())
    page.shot("compare")


def _archive_and_play(page: Page, store: PromptStore, new: int) -> None:
    """Archive a version (gone from the pickers), then answer one question with two versions
    side by side in the playground."""
    page.nav("Prompts")
    page.tab("Labels")
    page.select("Version", str(new - 1))
    page.button("Archive").click()
    wait_for("the archived version", lambda: store.archived("answer") == {new - 1})
    page.idle()
    page.shot("archive")
    page.tab("Preview & try")
    page.select("Side by side with", f"answer@{new - 2}")
    question = wait_for("the question box", lambda: next(
        i for i in page.css('[data-testid="stTextInput"] input') if i.is_displayed()
        and i.get_attribute("aria-label") == "Question"))
    question.send_keys("How often is the fog horn tested?")
    page.button("Ask").click()
    wait_for("two answers side by side", lambda: f"answer@{new}\n" in page.text() + "\n"
             and len([h for h in page.css("h4") if h.text.startswith("answer@")]) == 2,
             timeout=240)
    page.idle(120)
    page.d.execute_script("arguments[0].scrollIntoView({block: 'start'})",
                          next(h for h in page.css("h4") if h.text.startswith("answer@")))
    time.sleep(1)
    page.shot("playground")


def _stop(page: Page) -> None:
    """Stop an answer while the model works on it: the turn says stopped, not verified."""
    from selenium.webdriver.common.keys import Keys

    box = wait_for("the chat box", lambda: page.css('[data-testid="stChatInputTextArea"]')[0])
    box.send_keys("Which colour is the ledger where keepers record the oil level?", Keys.ENTER)
    started = time.monotonic()
    page.button("Stop").click()
    wait_for("the stopped turn", lambda: "before the answer was finished" in page.text(),
             timeout=120)
    log.warning("stopped after %.1fs", time.monotonic() - started)
    page.idle()
    page.shot("stop")
