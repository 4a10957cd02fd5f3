"""Links and images in an answer must come from the question or the sources shown to the model.

A planted instruction's favourite payload is a link: a markdown image that the browser fetches
as soon as the answer renders (carrying the question or the conversation in its query string), or
a "verify your account" URL. The model cannot be trusted to refuse them, so the answer is
filtered after it is written, deterministically: images and active HTML tags are removed
outright (rendering them is a request to somebody's server), and a URL survives only if it
appears verbatim in the question or in one of the chunks the model was shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_ACTIVE_TAG = re.compile(r"<\s*/?\s*(img|iframe|script|style|link|object|embed|video|audio|source|"
                         r"svg|form|input|meta|base)\b[^>]*>", re.IGNORECASE)
_MD_LINK = re.compile(r"\[([^\]]*)\]\(\s*<?([^)\s>]+)>?[^)]*\)")
_URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>()\[\]\"'`]+", re.IGNORECASE)
REMOVED = "[link removed: not in the sources]"


def _allowed(url: str, known: str) -> bool:
    return url.rstrip(".,;:!?") in known


def filter_links(answer: str, known_texts: Iterable[str]) -> tuple[str, int]:
    """The answer without images, active HTML, or URLs absent from ``known_texts`` (the question
    and the sources); returns it with the number of removals."""
    known = "\n".join(known_texts)
    removed = 0

    def drop(_: re.Match[str]) -> str:
        nonlocal removed
        removed += 1
        return ""

    def md_link(match: re.Match[str]) -> str:
        nonlocal removed
        if _allowed(match.group(2), known):
            return match.group(0)
        removed += 1
        return f"{match.group(1)} {REMOVED}".strip()

    def bare_url(match: re.Match[str]) -> str:
        nonlocal removed
        if _allowed(match.group(0), known):
            return match.group(0)
        removed += 1
        return REMOVED

    text = _ACTIVE_TAG.sub(drop, _IMAGE.sub(drop, answer))
    # Markdown links first, then bare URLs outside them (a kept link's URL is not re-checked).
    parts = re.split(r"(\[[^\]]*\]\([^)]*\))", _MD_LINK.sub(md_link, text))
    text = "".join(p if p.startswith("[") and "](" in p else _URL.sub(bare_url, p) for p in parts)
    if removed:
        text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return text, removed
