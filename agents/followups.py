"""Does a follow-up question need the conversation to be understood? (No model call.)

A condense call costs a full model round trip, so it is made only when the question may lean on
earlier turns: it refers back ("it", "they", "that one", "the same", "what about …"), or it names
nothing (no name, number or date) that a search could find on its own. A question that names what
it asks about and points nowhere else stands alone and is searched as asked.
"""

from __future__ import annotations

import re

from ragloom.agents.claims import tokens

_REFERS_BACK = frozenset("""
it its itself they them their theirs themselves this that these those he him his she her hers
there then one ones same other another also else former latter previous above earlier first
second last again too such
""".split())
_FOLLOW_UP_START = re.compile(r"^\s*(and|but|so|also|what about|how about|why|why not|then)\b",
                              re.I)
_WORD = re.compile(r"[a-z']+")
_MIN_WORDS = 4


def needs_conversation(question: str) -> bool:
    """True when ``question`` may depend on earlier turns (then it is condensed first)."""
    words = _WORD.findall(question.lower())
    if len(words) < _MIN_WORDS or _FOLLOW_UP_START.match(question):
        return True
    if _REFERS_BACK & set(words):
        return True
    return not tokens(question).keys  # names nothing a search could find by itself
