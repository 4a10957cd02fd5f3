"""Every Python example of docs/python.md runs as written, in order, on the embedded models, from
a fresh working directory and home (the ``ragloom.evaluate`` example runs the Ragas judge for
minutes; it is covered on fakes by tests/unit/test_python_api.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
DOC = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def test_the_python_guide_runs(tmp_path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 5
    script = "\n\n".join(b for b in blocks if "ragloom.evaluate(" not in b)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAGLOOM_")},
           "RAGLOOM_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "85" in out and "tea-guide.pdf" in out  # the ask example, with its citation
    assert "7 to 10" in out  # the Record example
    assert "grounded" in out or "not verified" in out  # the streaming example's last event
