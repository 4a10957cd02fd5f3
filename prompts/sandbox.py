"""The one Jinja2 environment prompts are parsed, validated and rendered in, and the save-time check.

Prompt authors are not trusted with the host, admins included: a template is text with variables
and a few harmless filters. Two layers enforce it:

* ``problems_in(template)`` walks the parsed template when a version is saved and names, per line,
  every construct outside that language (calls, private attributes, Jinja2 globals, filters and
  tests outside the allowlists, macros and includes, the operators that can allocate without bound).
* ``ENV`` renders in Jinja2's immutable sandbox with no globals, only the allowed filters and tests,
  no callable at all and those operators refused: a version file written by hand with a matching
  checksum cannot escape either.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

# Jinja2's default globals and the names that reach the template machinery.
FORBIDDEN_NAMES = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "self",
                             "caller", "super", "varargs", "kwargs"})
# Beside every name starting with "_": the ones that lead from an object to code or frames.
FORBIDDEN_ATTRIBUTES = frozenset({"globals", "mro", "func_globals", "func_code", "gi_frame",
                                  "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code",
                                  "f_globals", "f_locals", "f_builtins", "f_back", "tb_frame"})
# Filters that only reshape text or values; none calls back into objects or grows without bound
# (no attr/map/select*/format/indent/center/batch/random).
ALLOWED_FILTERS = frozenset({"abs", "capitalize", "count", "d", "default", "dictsort", "e",
                             "escape", "first", "float", "int", "items", "join", "last", "length",
                             "list", "lower", "max", "min", "replace", "reverse", "round",
                             "string", "striptags", "title", "tojson", "trim", "truncate",
                             "unique", "upper", "wordcount", "wordwrap"})
ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "boolean", "true", "false", "string",
                           "number", "integer", "float", "mapping", "sequence", "iterable",
                           "lower", "upper", "odd", "even", "divisibleby", "in", "sameas", "eq",
                           "equalto", "==", "ne", "!=", "gt", ">", "greaterthan", "ge", ">=",
                           "lt", "<", "lessthan", "le", "<="})
# `'x' * 10**9` or `'%999999999d' % 1` exhaust memory in one expression.
FORBIDDEN_OPERATORS = {nodes.Mul: "*", nodes.Pow: "**", nodes.Mod: "%"}
FORBIDDEN_TAGS = {nodes.Macro: "macro", nodes.CallBlock: "call", nodes.Extends: "extends",
                  nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from",
                  nodes.Block: "block"}
_MAX_PROBLEMS = 10  # per message: enough to fix, short enough to read


def forbidden_attribute(name: str) -> bool:
    return name.startswith("_") or name in FORBIDDEN_ATTRIBUTES


class PromptSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, stricter: nothing is callable, the costly operators fail."""

    intercepted_binops = frozenset(FORBIDDEN_OPERATORS.values())

    def is_safe_callable(self, obj: Any) -> bool:
        return False  # filters run outside this check; templates themselves call nothing

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return not forbidden_attribute(attr) and super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError(f"the operator '{operator}' is not allowed in prompt templates")


ENV = PromptSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
ENV.globals.clear()
ENV.filters = {k: v for k, v in ENV.filters.items() if k in ALLOWED_FILTERS}
ENV.tests = {k: v for k, v in ENV.tests.items() if k in ALLOWED_TESTS}


def _text(node: nodes.Node) -> str:
    """A short source-like rendering of an expression, to name it in an error."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_text(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        key = repr(node.arg.value) if isinstance(node.arg, nodes.Const) else "…"
        return f"{_text(node.node)}[{key}]"
    if isinstance(node, nodes.Call):
        return f"{_text(node.node)}(…)"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    return "…"


def _problem(node: nodes.Node) -> str | None:
    """What is not allowed about this one node, or None."""
    if isinstance(node, nodes.Name) and node.name in FORBIDDEN_NAMES:
        return f"name '{node.name}' is not allowed"
    if isinstance(node, nodes.Getattr) and forbidden_attribute(node.attr):
        return f"attribute '{node.attr}' is not allowed"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
            and isinstance(node.arg.value, str) and forbidden_attribute(node.arg.value):
        return f"item '{node.arg.value}' is not allowed"
    if isinstance(node, nodes.Call):
        return f"calling {_text(node)} is not allowed (templates call nothing; use a filter)"
    if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
        return f"filter '{node.name}' is not allowed"
    if isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
        return f"test '{node.name}' is not allowed"
    if isinstance(node, nodes.Keyword) and node.key == "attribute" \
            and isinstance(node.value, nodes.Const) and isinstance(node.value.value, str) \
            and any(forbidden_attribute(p) for p in node.value.value.split(".")):
        return f"attribute '{node.value.value}' is not allowed"
    for kind, text in {**FORBIDDEN_OPERATORS, **FORBIDDEN_TAGS}.items():
        if isinstance(node, kind):
            what = "operator" if kind in FORBIDDEN_OPERATORS else "tag"
            return f"{what} '{text}' is not allowed"
    return None


def _inner_first(node: nodes.Node) -> Iterator[nodes.Node]:
    for child in node.iter_child_nodes():
        yield from _inner_first(child)
    yield node  # after its parts: `lipsum` is named before `lipsum.__globals__`


def problems_in(template: nodes.Template) -> list[tuple[int, str]]:
    """(line, problem) for every disallowed construct of a parsed template, in source order."""
    found: list[tuple[int, str]] = []
    for node in _inner_first(template):
        problem = _problem(node)
        if problem and (node.lineno, problem) not in found:
            found.append((node.lineno, problem))
    return sorted(found, key=lambda p: p[0])[:_MAX_PROBLEMS]


def allowed_filters_hint() -> str:
    return ", ".join(sorted(ALLOWED_FILTERS))
