"""Text a reader of an HTML page cannot see is not ingested.

Planted instructions hide in pages as ``display:none`` blocks, ``hidden`` elements, zero-size or
transparent text, text pushed off-screen, or text coloured like its background. A person reading
the page never sees it, so an answer built on it cannot be checked against the page: it is
dropped before the text is extracted (and counted, so the ingest log can say so).
"""

from __future__ import annotations

import re
from typing import Any

_HIDING_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*(hidden|collapse)|opacity\s*:\s*0*(\.0+)?\s*(;|$)"
    r"|font-size\s*:\s*0+(\.0+)?\s*(px|pt|em|rem|%)?\s*(;|$)"
    r"|(left|top|right|text-indent)\s*:\s*-\d{3,}",
    re.IGNORECASE,
)
_COLOUR = re.compile(r"(?:^|;)\s*(background(?:-color)?|color)\s*:\s*([^;]+)", re.IGNORECASE)


def _same_colour_as_background(style: str) -> bool:
    colours = {name.lower(): value.strip().lower() for name, value in _COLOUR.findall(style)}
    text = colours.get("color")
    back = colours.get("background-color") or colours.get("background")
    return text is not None and text == back


def is_hidden(tag: Any) -> bool:
    """True for an element that a browser would not show to the reader."""
    attrs = tag.attrs or {}
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if tag.name == "input" and str(attrs.get("type", "")).lower() == "hidden":
        return True
    style = str(attrs.get("style", ""))
    return bool(style) and (bool(_HIDING_STYLE.search(style)) or _same_colour_as_background(style))


def drop_hidden(soup: Any) -> int:
    """Remove every hidden element (with its children) from a parsed page; returns how many."""
    hidden = [tag for tag in soup.find_all(True) if is_hidden(tag)]
    for tag in hidden:
        if not tag.decomposed:
            tag.decompose()
    return len(hidden)
