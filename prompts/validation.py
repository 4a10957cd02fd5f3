"""What makes a prompt version valid: Jinja2 syntax inside the sandbox's language, the variables the
node that uses the prompt passes (an answer prompt without ``{{ context }}``, or with a
``{{ today }}`` nobody passes, is refused), and known model parameters."""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2 import meta

from ragloom.core.errors import PromptError
from ragloom.prompts.sandbox import ENV, FORBIDDEN_NAMES, allowed_filters_hint, problems_in

# The variables each graph node always passes to its prompt, and so the ones a version must use.
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
# Every variable a node passes (agents/*.py `prompt.render(...)`): a version may use only these,
# anything else fails at render time.
ALLOWED_VARIABLES: dict[str, frozenset[str]] = {
    **REQUIRED_VARIABLES,
    "rewrite": frozenset({"question", "query"}),
    "compose": frozenset({"question", "context", "notes"}),
}
ALLOWED_PARAMS = frozenset({"temperature", "max_tokens", "top_p", "stop", "seed"})
ROLES = frozenset({"system", "user", "assistant"})


def used_variables(messages: Any) -> set[str]:
    """Variables the templates use; malformed messages are skipped (``validate`` reports them)."""
    used: set[str] = set()
    for m in messages if isinstance(messages, list) else []:
        try:
            used |= meta.find_undeclared_variables(ENV.parse(m["content"]))
        except (jinja2.TemplateSyntaxError, TypeError, KeyError):
            continue
    return used - FORBIDDEN_NAMES  # those are reported as constructs, not as variables


def _template_problems(messages: list[Any]) -> list[str]:
    problems: list[str] = []
    for i, m in enumerate(messages, 1):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            problems.append(f"message {i} needs a role ({', '.join(sorted(ROLES))}) and text content")
            continue
        try:
            parsed = ENV.parse(m["content"])
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"message {i}, line {exc.lineno}: {exc.message}")
            continue
        problems += [f"message {i}, line {line}: {what}" for line, what in problems_in(parsed)]
    return problems


def _variable_problems(name: str, used: set[str], variables: list[str] | None) -> list[str]:
    problems: list[str] = []
    allowed = ALLOWED_VARIABLES.get(name)
    if allowed is not None:
        passed = ", ".join(sorted(allowed))
        if unknown := sorted(used - allowed):
            shown = ", ".join("{{ " + v + " }}" for v in unknown)
            problems.append(f"uses {shown}, which the '{name}' node never passes "
                            f"(it passes: {passed})")
    elif variables is None and used:
        problems.append(f"uses {', '.join(sorted(used))} but declares no variables: no node "
                        f"passes variables to a '{name}' prompt, so declare the ones it takes "
                        f"(variables: [{', '.join(sorted(used))}])")
    if variables is not None:
        declared = set(variables)
        if undeclared := sorted(used - declared):
            problems.append(f"uses undeclared variables {', '.join(undeclared)}")
        if unused := sorted(declared - used):
            problems.append(f"declares variables it never uses: {', '.join(unused)}")
    if missing := sorted(REQUIRED_VARIABLES.get(name, frozenset()) - used):
        need = ", ".join("{{ " + v + " }}" for v in missing)
        problems.append(f"a '{name}' prompt must use {need} (its node passes them)")
    return problems


def find_problems(name: str, messages: Any, variables: list[str] | None,
                  params: dict[str, Any]) -> list[str]:
    """Every reason the version is invalid (empty when valid). ``variables=None``: not declared."""
    if not isinstance(messages, list) or not messages:
        return ["a prompt needs a non-empty list of messages"]
    if problems := _template_problems(messages):
        return problems  # the variable checks need templates that parse and are allowed
    problems = _variable_problems(name, used_variables(messages), variables)
    if unknown := sorted(set(params) - ALLOWED_PARAMS):
        problems.append(f"unknown model parameters {', '.join(unknown)} "
                        f"(allowed: {', '.join(sorted(ALLOWED_PARAMS))})")
    return problems


def validate(name: str, messages: Any, variables: list[str] | None,
             params: dict[str, Any]) -> None:
    """Raise one PromptError listing every problem, or return when the version is valid."""
    if problems := find_problems(name, messages, variables, params):
        fix = "correct the template and save it again"
        if any("not allowed" in p for p in problems):
            fix += ("; templates use only variables, {% if %}, {% for %}, {% set %} and the "
                    f"filters {allowed_filters_hint()}")
        raise PromptError("invalid prompt: " + "; ".join(problems), subject=name, fix=fix)
