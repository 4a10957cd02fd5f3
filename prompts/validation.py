"""What makes a prompt version valid: Jinja2 syntax, declared = used variables, and the variables
the node that uses the prompt needs (an answer prompt without ``{{ context }}`` is refused)."""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2 import meta

from core.errors import PromptError

# The variables each graph node passes to its prompt, and so the ones a version must use.
REQUIRED_VARIABLES: dict[str, frozenset[str]] = {
    "answer": frozenset({"question", "context"}),
    "grade": frozenset({"question", "context"}),
    "rewrite": frozenset({"question"}),
    "route": frozenset({"question"}),
    "decompose": frozenset({"question"}),
    "ground": frozenset({"context", "answer"}),
    "condense": frozenset({"history", "question"}),
    "compose": frozenset({"question", "context"}),
    "direct": frozenset({"question"}),
    "clarify": frozenset({"question"}),
}
ALLOWED_PARAMS = frozenset({"temperature", "max_tokens", "top_p", "stop", "seed"})
ROLES = frozenset({"system", "user", "assistant"})
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


def used_variables(messages: Any) -> set[str]:
    """Variables the templates use; malformed messages are skipped (``validate`` reports them)."""
    used: set[str] = set()
    for m in messages if isinstance(messages, list) else []:
        try:
            used |= meta.find_undeclared_variables(_ENV.parse(m["content"]))
        except (jinja2.TemplateSyntaxError, TypeError, KeyError):
            continue
    return used


def validate(name: str, messages: Any, variables: list[str], params: dict[str, Any]) -> None:
    """Raise one PromptError listing every problem, or return when the version is valid."""
    problems: list[str] = []
    if not isinstance(messages, list) or not messages:
        raise PromptError("a prompt needs a non-empty list of messages", subject=name)
    for i, m in enumerate(messages, 1):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            problems.append(f"message {i} needs a role ({', '.join(sorted(ROLES))}) and text content")
            continue
        try:
            _ENV.parse(m["content"])
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"message {i}, line {exc.lineno}: {exc.message}")
    if problems:
        raise PromptError("invalid prompt: " + "; ".join(problems), subject=name)
    used, declared = used_variables(messages), set(variables)
    if undeclared := sorted(used - declared):
        problems.append(f"uses undeclared variables {', '.join(undeclared)}")
    if unused := sorted(declared - used):
        problems.append(f"declares variables it never uses: {', '.join(unused)}")
    if missing := sorted(REQUIRED_VARIABLES.get(name, frozenset()) - used):
        need = ", ".join("{{ " + v + " }}" for v in missing)
        problems.append(f"a '{name}' prompt must use {need} (its node passes them)")
    if unknown := sorted(set(params) - ALLOWED_PARAMS):
        problems.append(f"unknown model parameters {', '.join(unknown)} "
                        f"(allowed: {', '.join(sorted(ALLOWED_PARAMS))})")
    if problems:
        raise PromptError("invalid prompt: " + "; ".join(problems), subject=name,
                          fix="correct the template and save it again")
