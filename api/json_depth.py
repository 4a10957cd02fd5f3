"""How deeply a JSON text nests, found without parsing it (so a 1,000-deep body never reaches
the recursive JSON parser or pydantic)."""

from __future__ import annotations

import re

_INTERESTING = re.compile(rb'[\[\]{}"]')
# The rest of a string after its opening quote; possessive, so a failed match never backtracks.
_STRING_REST = re.compile(rb'(?:[^"\\]|\\.)*+"', re.DOTALL)
_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")


def json_depth(body: bytes, stop_at: int | None = None) -> int:
    """The deepest bracket nesting of ``body``, brackets inside strings not counted.

    Linear in the body: each byte is looked at once. Scanning ends at ``stop_at`` (enough to
    refuse) or at an unterminated string (the JSON parser then reports the body as invalid).
    """
    depth = deepest = pos = 0
    while (found := _INTERESTING.search(body, pos)) is not None:
        char, pos = body[found.start()], found.end()
        if char == 0x22:  # '"': skip the string
            rest = _STRING_REST.match(body, pos)
            if rest is None:
                break
            pos = rest.end()
        elif char in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_at is not None and deepest >= stop_at:
                    break
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
    return deepest
