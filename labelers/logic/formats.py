"""Built-in format checks: every value a block records must fit the API contract.

- **calls**: every module result fits its method's result kind in the method table
  (:mod:`vipexec.modules.methods`): a list of patches, a bool, a string, one of the options
  the call was given, a finite number, an index.
- **variables**: a name bound straight to an API call holds what the table's ``binds`` facet
  says (a list of patches, a bool, a str, a number, "yes"/"no"); a name bound to ``len(...)``
  or named like a count (``count``, ``num_*``, ``n_*``, ``*_count``, ``total``) holds a
  non-negative integer.
- **answer**: the block that produced the result answers in the query's form: "yes"/"no" for a
  yes/no question, a non-negative integer (or its digits) for "how many", one of the options
  for "X or Y" questions.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from vipexec.core.run import Run
from vipexec.labelers._blocks import plain
from vipexec.labelers.logic.analysis import ProgramFacts
from vipexec.labelers.logic.checks import Check
from vipexec.labelers.logic.query import QuerySpec
from vipexec.modules.methods import API_FUNCTIONS, API_METHODS, lookup

_COUNT_NAME = re.compile(r"^(count|counts|total|number|num|n)(_.*)?$|.*_(count|num|number|total)$")


def call_checks(run: Run) -> list[Check]:
    checks = []
    for trace in run.blocks:
        problems = []
        checked = 0
        for call in trace.calls:
            if call.get("error"):
                continue
            problem = _call_problem(call)
            if problem is _NOT_CHECKED:
                continue
            checked += 1
            if problem:
                problems.append(problem)
        if problems:
            checks.append(
                Check("format.calls", trace.index, "fail", problems[0], {"problems": problems})
            )
        elif checked:
            message = f"{checked} module result(s) fit the API contract"
            checks.append(Check("format.calls", trace.index, "pass", message))
    return checks


_NOT_CHECKED = object()


def _is_box(item: dict[str, Any]) -> bool:
    """A patch summary, or a box of four numbers (what a dispatcher records for ``find``)."""
    if item.get("type") == "ImagePatch" or "box" in item:
        return True
    if item.get("type") in ("list", "tuple") and item.get("len") == 4:
        values = [plain(v) for v in item.get("items", [])]
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    return False


def _call_problem(call: dict[str, Any]) -> Any:
    entry = lookup(call.get("method"))
    if entry is None or entry.served is None:
        return _NOT_CHECKED
    result = call.get("result") or {}
    return _RESULT_PROBLEMS[entry.result](entry.name, result, call.get("args") or {})


def _patches_problem(method: str, result: dict[str, Any], args: dict[str, Any]) -> str | None:
    kind = result.get("type")
    if kind not in ("list", "tuple"):
        return f"{method}() gave a {kind}, not a list of patches"
    items = result.get("items") or []
    if not all(_is_box(item) for item in items):
        return f"{method}() gave a list holding something other than patches"
    return None


def _type_problem(expected: str, noun: str) -> Any:
    def problem(method: str, result: dict[str, Any], args: dict[str, Any]) -> str | None:
        kind = result.get("type")
        return None if kind == expected else f"{method}() gave a {kind}, not {noun}"

    return problem


def _option_problem(method: str, result: dict[str, Any], args: dict[str, Any]) -> str | None:
    kind = result.get("type")
    if kind != "str":
        return f"{method}() gave a {kind}, not a str"
    options = plain(args.get("options"))
    values = [plain(o) for o in (options.get("items", []) if isinstance(options, dict) else [])]
    value = result.get("value")
    if values and len(values) == (options or {}).get("len") and value not in values:
        return f"{method}() gave {value!r}, which is not one of its options {values}"
    return None


def _number_problem(method: str, result: dict[str, Any], args: dict[str, Any]) -> str | None:
    if result.get("type") not in ("float", "int") or "value" not in result:
        return f"{method}() gave {result.get('repr', result.get('type'))}, not a finite number"
    return None


_RESULT_PROBLEMS = {
    "patches": _patches_problem,
    "bool": _type_problem("bool", "a bool"),
    "text": _type_problem("str", "a str"),
    "option": _option_problem,
    "number": _number_problem,
    "index": _type_problem("int", "an index"),
}


# --- variables ----------------------------------------------------------------------------------


def variable_checks(run: Run, facts: ProgramFacts) -> list[Check]:
    checks = []
    for item in facts.blocks:
        trace = run.blocks[item.index]
        if trace.executions == 0:
            continue
        roles = _roles(item.statements)
        if not roles:
            continue
        problems, checked = [], 0
        records = [trace.variables] + [it.get("variables", {}) for it in trace.iterations]
        for name, role in roles.items():
            seen = [r[name] for r in records if name in r]
            for summary in seen:
                checked += 1
                problem = _variable_problem(name, role, summary)
                if problem:
                    problems.append(problem)
                    break
        if problems:
            checks.append(
                Check("format.values", item.index, "fail", problems[0], {"problems": problems})
            )
        elif checked:
            names = ", ".join(sorted(roles))
            checks.append(Check("format.values", item.index, "pass", f"{names}: expected types"))
    return checks


def _roles(statements: list[ast.stmt]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for statement in statements:
        for node in ast.walk(statement):
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            target = node.targets[0]
            if not isinstance(target, ast.Name):
                continue
            role = _role_of(node.value)
            if role is None and _COUNT_NAME.match(target.id):
                role = "count"
            if role is not None:
                roles[target.id] = role
    return roles


def _role_of(value: ast.expr) -> str | None:
    if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Constant | ast.UnaryOp):
        inner = _role_of(value.value) if isinstance(value.value, ast.Call) else None
        if inner == "patches" or isinstance(value.value, ast.Name):
            return "patch" if inner == "patches" else "element"
        return None
    if not isinstance(value, ast.Call):
        return None
    func = value.func
    if isinstance(func, ast.Attribute):
        entry = lookup(func.attr)
        return entry.binds if entry is not None and entry.name in API_METHODS else None
    if isinstance(func, ast.Name):
        if func.id == "len":
            return "count"
        entry = lookup(func.id)
        return entry.binds if entry is not None and entry.name in API_FUNCTIONS else None
    return None


def _variable_problem(name: str, role: str, summary: dict[str, Any]) -> str | None:
    kind = summary.get("type")
    value = summary.get("value")
    if role == "patches":
        if kind != "list" or any(i.get("type") != "ImagePatch" for i in summary.get("items", [])):
            return f"{name} should hold a list of patches, holds a {kind}"
        return None
    if role == "patch":
        return None if kind == "ImagePatch" else f"{name} should hold a patch, holds a {kind}"
    if role == "element":
        return None if kind is not None else f"{name} holds no value"
    if role == "bool":
        return None if kind == "bool" else f"{name} should hold a bool, holds a {kind}"
    if role == "str":
        return None if kind == "str" else f"{name} should hold a str, holds a {kind}"
    if role == "number":
        return None if kind in ("int", "float") else f"{name} should hold a number, holds {kind}"
    if role == "yesno":
        return None if value in ("yes", "no") else f"{name} should be 'yes' or 'no', is {value!r}"
    if role == "count":
        if kind == "int" and isinstance(value, int) and value < 0:
            return f"{name} is a count but holds {value}"
        if kind in ("int", "str", "float"):
            if kind == "float" and isinstance(value, float) and value < 0:
                return f"{name} is a count but holds {value}"
            return None
        return None
    return None


# --- the answer ---------------------------------------------------------------------------------


def answer_check(run: Run, spec: QuerySpec, answer_block: int | None) -> list[Check]:
    if run.error is not None or answer_block is None or spec.answer == "open":
        return []
    summary = run.result_summary or {}
    kind, value = summary.get("type"), summary.get("value")
    data = {"answer": value if "value" in summary else summary, "form": spec.answer}
    if spec.answer == "yesno":
        ok = kind == "str" and value in ("yes", "no")
        message = "answers 'yes' or 'no'" if ok else f"a yes/no question answered {value!r}"
    elif spec.answer == "count":
        ok = (kind == "int" and isinstance(value, int) and value >= 0) or (
            kind == "str" and isinstance(value, str) and value.strip().isdigit()
        )
        message = "answers a count" if ok else f"a 'how many' question answered {value!r}"
    else:
        options = [o.lower() for o in spec.options]
        ok = kind == "str" and isinstance(value, str) and value.strip().lower() in options
        message = (
            f"answers one of {list(spec.options)}"
            if ok
            else f"answered {value!r}, not one of {list(spec.options)}"
        )
        data["options"] = list(spec.options)
    return [Check("format.answer", answer_block, "pass" if ok else "fail", message, data)]


def answer_literal_check(facts: ProgramFacts, spec: QuerySpec) -> list[Check]:
    """Static: every literal the program can answer with fits the query's form.

    Looks at ``return "literal"`` and, for ``return name``, at ``name = "literal"`` anywhere in
    the entry body; judged per block holding such a literal (run or not).
    """
    allowed = _allowed_answers(spec)
    if allowed is None:
        return []
    returned = set()
    for item in facts.blocks:
        for statement in item.statements:
            for node in ast.walk(statement):
                if isinstance(node, ast.Return) and isinstance(node.value, ast.Name):
                    returned.add(node.value.id)
    checks = []
    for item in facts.blocks:
        literals = []
        for statement in item.statements:
            for node in ast.walk(statement):
                value = None
                if isinstance(node, ast.Return) or (
                    isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id in returned for t in node.targets)
                ):
                    value = node.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    literals.append((node.lineno, value.value))
        if not literals:
            continue
        bad = [(line, text) for line, text in literals if not allowed(text)]
        if bad:
            line, text = bad[0]
            message = (
                f"line {line} can answer {text!r}, which does not fit a {spec.answer} question"
            )
            checks.append(Check("format.answer_literals", item.index, "fail", message))
        else:
            shown = ", ".join(repr(t) for _, t in literals)
            checks.append(Check("format.answer_literals", item.index, "pass", f"answers {shown}"))
    return checks


def _allowed_answers(spec: QuerySpec):
    if spec.answer == "yesno":
        return lambda text: text.strip().lower() in ("yes", "no")
    if spec.answer == "options":
        options = {o.lower() for o in spec.options}
        return lambda text: text.strip().lower() in options
    if spec.answer == "count":
        return lambda text: text.strip().isdigit()
    return None


def find_answer_block(run: Run, facts: ProgramFacts) -> int | None:
    """The block that produced the result: the last block that ran and holds the ``return``
    (function form) or a ``print`` (script form); else the last block that ran."""
    ran = [b.index for b in run.blocks if b.executions > 0 and b.status == "ok"]
    if not ran:
        return None
    producing = []
    for item in facts.blocks:
        if item.index not in ran:
            continue
        for statement in item.statements:
            for node in ast.walk(statement):
                if isinstance(node, ast.Return) or (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "print"
                ):
                    producing.append(item.index)
    if producing:
        return max(producing)
    return max(ran)
