"""Record the SHA-256 of every shipped prompt version in its prompt.json (labels kept).

Shipped versions are immutable: run this only when adding a new shipped version file.
    python scripts/seal_prompts.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "prompts"

for folder in sorted(p for p in ROOT.iterdir() if p.is_dir() and any(p.glob("v*.yaml"))):
    meta_path = folder / "prompt.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    legacy = folder / "labels.json"
    labels = meta.get("labels") or (json.loads(legacy.read_text()) if legacy.exists() else {})
    meta["labels"] = {k: v if isinstance(v, dict) else {"version": v, "previous": []}
                      for k, v in labels.items()}
    meta["sha256"] = {p.stem[1:]: hashlib.sha256(p.read_bytes()).hexdigest()
                      for p in sorted(folder.glob("v*.yaml"))}
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    legacy.unlink(missing_ok=True)
    print(f"sealed {folder.name}: versions {sorted(meta['sha256'])}")
