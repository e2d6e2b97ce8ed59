"""Grounding: the attribute words a block asks the models about must be the query's.

For each module call of a block (the recorded arguments when it ran, else the string literals
in its source), the words that belong to an attribute class (colour, size, shape, material) are
compared with the query:

- when the query parses into object phrases, the call's attribute words must be consistent
  with at least one phrase (no class where the two name different values): asking about a
  "blue circle" fails for "Is there a red circle and a blue square?";
- otherwise every attribute word must be one the query uses for its class ("small" fails when
  the query says "large").

Words of classes the query does not mention are not judged; a block none of whose calls names a
judged word is skipped.
"""

from __future__ import annotations

from typing import Any

from vipexec.core.run import Run
from vipexec.labelers.logic.analysis import ProgramFacts
from vipexec.labelers.logic.checks import Check
from vipexec.labelers.logic.query import QuerySpec
from vipexec.labelers.logic.vocabulary import Vocabulary, words

NAME = "grounding"


def grounding_checks(
    run: Run, facts: ProgramFacts, spec: QuerySpec, vocabulary: Vocabulary
) -> list[Check]:
    if not spec.text:
        return []
    query_classes = vocabulary.attributes(spec.text)
    if not query_classes:
        return []
    leaves = [_attributes(leaf.phrase, vocabulary) for leaf in spec.leaves()]
    checks = []
    for item in facts.blocks:
        trace = run.blocks[item.index]
        texts = _call_texts(trace.calls) if trace.executions > 0 else None
        if texts is None:
            texts = [(method, literals) for method, literals in item.calls]
        judged, problems = 0, []
        for method, literals in texts:
            attributes = _attributes(frozenset(w for t in literals for w in words(t)), vocabulary)
            attributes = {k: v for k, v in attributes.items() if k in query_classes}
            if not attributes:
                continue
            judged += 1
            problem = _problem(method, literals, attributes, query_classes, leaves)
            if problem:
                problems.append(problem)
        if problems:
            checks.append(Check(NAME, item.index, "fail", problems[0], {"problems": problems}))
        elif judged:
            message = f"{judged} module call(s) ask about the query's attributes"
            checks.append(Check(NAME, item.index, "pass", message))
    return checks


def _call_texts(calls: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    out = []
    for call in calls:
        literals = []
        for value in (call.get("args") or {}).values():
            literals.extend(_strings(value))
        out.append((call.get("method", "?"), literals))
    return out


def _strings(summary: Any) -> list[str]:
    if not isinstance(summary, dict):
        return []
    if summary.get("type") == "str" and isinstance(summary.get("value"), str):
        return [summary["value"]]
    found = []
    for item in summary.get("items", []) or []:
        found.extend(_strings(item))
    return found


def _attributes(tokens: frozenset[str], vocabulary: Vocabulary) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for token in tokens:
        found = vocabulary.attribute(token)
        if found:
            out.setdefault(found[0], set()).add(found[1])
    return out


def _problem(
    method: str,
    literals: list[str],
    attributes: dict[str, set[str]],
    query_classes: dict[str, set[str]],
    leaves: list[dict[str, set[str]]],
) -> str | None:
    shown = ", ".join(repr(t) for t in literals)
    for name, values in attributes.items():
        stray = values - query_classes[name]
        if stray:
            wanted = " or ".join(sorted(query_classes[name]))
            return (
                f"{method}({shown}) asks about {', '.join(sorted(stray))}; the query says {wanted}"
            )
    if leaves and not any(_consistent(attributes, leaf) for leaf in leaves):
        return f"{method}({shown}) matches none of the objects the query names"
    return None


def _consistent(attributes: dict[str, set[str]], leaf: dict[str, set[str]]) -> bool:
    return all(values <= leaf[name] for name, values in attributes.items() if name in leaf)
