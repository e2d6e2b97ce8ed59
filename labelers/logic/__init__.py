"""Logic: do the block's values and operations follow the query? (after PropTest)

Checks, each giving ``pass``, ``fail`` or ``skip`` per block:

- ``format.calls``, ``format.values``, ``format.answer`` (:mod:`.formats`): values fit the API
  contract and the answer fits the query's form;
- ``grounding`` (:mod:`.grounding`): module calls ask about the query's attributes;
- ``loops`` (:mod:`.loops`): index loops visit every element;
- ``operations`` (:mod:`.operations`): quantifiers (any/all/none), selections by order
  (nearest, leftmost...) and the values a block answers from are tested against the query's
  parse;
- ``glue`` (:mod:`.glue`): blocks of pure logic compute the operation the query states, on
  hypothesis-generated inputs;
- ``suite``: a PropTest suite (``LabelContext.suite``, else one an LLM writes for the query
  when the labeler has a ``suite_writer``: :class:`~vipexec.labelers.llm_suite.SuiteWriter`)
  run against the program in the sandbox; its failed assertions count against the block that
  produced the answer, broken tests count for nothing.

A block is negative when a check on it (or on a block nested in it) fails, positive when at
least one ran and passed, else ``None``. Blocks that did not run get only the static checks.
For a query the parser does not understand (:attr:`QuerySpec.understood`), no block is
labelled positive: the format checks can still find a fault, but passing them says nothing
about whether the program answers the question.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vipexec.core.run import Run
from vipexec.labelers._blocks import descendants
from vipexec.labelers.base import Label, LabelContext
from vipexec.labelers.logic.analysis import analyse
from vipexec.labelers.logic.checks import Check
from vipexec.labelers.logic.formats import (
    answer_check,
    answer_literal_check,
    call_checks,
    find_answer_block,
    variable_checks,
)
from vipexec.labelers.logic.glue import check_glue_blocks
from vipexec.labelers.logic.grounding import grounding_checks
from vipexec.labelers.logic.loops import loop_checks, tally_checks
from vipexec.labelers.logic.operations import (
    coverage_checks,
    extremum_checks,
    quantifier_checks,
    relation_checks,
)
from vipexec.labelers.logic.query import QuerySpec, parse_query
from vipexec.labelers.logic.vocabulary import DEFAULT_VOCABULARY, Vocabulary

__all__ = ["LogicLabeler", "QuerySpec", "Vocabulary", "parse_query"]

CHECKS = ("formats", "grounding", "loops", "glue", "operations", "suite")


class LogicLabeler:
    """Property tests and format checks per block (see the module docstring)."""

    name: ClassVar[str] = "logic"
    version: ClassVar[int] = 2

    def __init__(
        self,
        *,
        checks: tuple[str, ...] | list[str] = CHECKS,
        max_examples: int = 60,
        seed: int = 0,
        vocabulary: Vocabulary | None = None,
        backend: str = "synthetic",
        backend_options: dict[str, Any] | None = None,
        sandbox_pool: Any = None,
        suite_writer: Any = None,
    ) -> None:
        unknown = set(checks) - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown logic checks {sorted(unknown)}; known: {list(CHECKS)}")
        if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
            raise ValueError(f"max_examples must be a positive int, got {max_examples!r}")
        self.checks = tuple(checks)
        self.max_examples = max_examples
        self.seed = seed
        self.vocabulary = vocabulary or DEFAULT_VOCABULARY
        self.backend = backend
        self.backend_options = dict(backend_options or {})
        self.sandbox_pool = sandbox_pool
        self.suite_writer = suite_writer

    def config(self) -> dict[str, Any]:
        return {
            "checks": list(self.checks),
            "max_examples": self.max_examples,
            "seed": self.seed,
            "backend": self.backend,
            **({"suite_writer": self.suite_writer.config()} if self.suite_writer else {}),
        }

    def run_checks(self, run: Run, context: LabelContext | None = None) -> list[Check]:
        """Every check on every block of ``run``."""
        context = context or LabelContext()
        spec = parse_query(context.query_for(run), self.vocabulary)
        if context.options:
            spec = QuerySpec(spec.text, "options", None, tuple(context.options))
        facts = analyse(run.program, self.vocabulary)
        answer_block = find_answer_block(run, facts)
        checks: list[Check] = []
        if "formats" in self.checks:
            checks += call_checks(run)
            checks += variable_checks(run, facts)
            checks += answer_check(run, spec, answer_block)
            checks += answer_literal_check(facts, spec)
        if "grounding" in self.checks:
            checks += grounding_checks(run, facts, spec, self.vocabulary)
        if "loops" in self.checks:
            checks += loop_checks(facts)
            checks += tally_checks(run, facts)
        if "glue" in self.checks and spec.tree is not None:
            checks += check_glue_blocks(
                run,
                facts,
                spec,
                max_examples=self.max_examples,
                seed=self.seed,
                answer_block=answer_block if run.error is None else None,
            )
        if "operations" in self.checks:
            checks += quantifier_checks(facts, spec)
            checks += extremum_checks(facts, spec)
            checks += coverage_checks(facts, spec, self.vocabulary)
            checks += relation_checks(facts, spec, self.vocabulary)
        if "suite" in self.checks and answer_block is not None:
            if context.suite is not None:
                checks += self._suite_checks(run, context, context.suite, answer_block)
            elif self.suite_writer is not None and spec.text:
                checks += self._llm_suite_checks(run, context, spec.text, answer_block)
        return checks

    def _llm_suite_checks(
        self, run: Run, context: LabelContext, query: str, answer_block: int
    ) -> list[Check]:
        from vipexec.core.errors import VipexecError

        try:
            suite = self.suite_writer.suite_for(query)
        except (VipexecError, ValueError) as exc:  # no server, or a reply without tests
            return [Check("suite", answer_block, "skip", f"no LLM suite: {exc}")]
        return self._suite_checks(run, context, suite, answer_block)

    def label(self, run: Run, context: LabelContext | None = None) -> list[Label]:
        context = context or LabelContext()
        checks = self.run_checks(run, context)
        understood = (
            bool(context.options) or parse_query(context.query_for(run), self.vocabulary).understood
        )
        blocks = run.program.blocks
        own: dict[int, list[Check]] = {b.index: [] for b in run.blocks}
        for check in checks:
            own.setdefault(check.block, []).append(check)
        labels = []
        for trace in run.blocks:
            mine = [c for c in own.get(trace.index, []) if c.outcome != "skip"]
            nested = [
                c
                for d in descendants(blocks, trace.index)
                for c in own.get(d, [])
                if c.outcome != "skip"
            ]
            skipped = [c for c in own.get(trace.index, []) if c.outcome == "skip"]
            labels.append(_label(mine, nested, skipped, understood))
        return labels

    def _suite_checks(
        self, run: Run, context: LabelContext, given: Any, answer_block: int
    ) -> list[Check]:
        from vipexec.core.errors import InvalidArgumentError
        from vipexec.labelers.execution import Executor
        from vipexec.labelers.suites import Suite, run_suite

        try:
            suite = Suite.coerce(given)
        except InvalidArgumentError as exc:
            return [Check("suite", answer_block, "skip", f"suite not usable: {exc}")]
        if suite.kind != "proptest" or run.error is not None:
            return []
        inputs = context.inputs
        if inputs is None:
            return [Check("suite", answer_block, "skip", "no live inputs to run the suite on")]
        executor = Executor(
            self.backend, self.backend_options, context.store, sandbox_pool=self.sandbox_pool
        )
        outcomes = run_suite(run.program, suite, [inputs], executor=executor, runs=[run])
        failed = [o for o in outcomes if o.outcome == "assertion_failed"]
        passed = [o for o in outcomes if o.outcome == "pass"]
        data = {"outcomes": [o.to_dict() for o in outcomes]}
        if failed:
            first = failed[0]
            case = f" (test case {first.case})" if first.case is not None else ""
            message = f"{first.test}{case}: {first.message}"
            return [Check("suite", answer_block, "fail", message, data)]
        if passed:
            return [Check("suite", answer_block, "pass", f"{len(passed)} test(s) pass", data)]
        return [Check("suite", answer_block, "skip", "no test could judge the answer", data)]


def _label(mine: list[Check], nested: list[Check], skipped: list[Check], understood: bool) -> Label:
    ran = sorted({c.name for c in mine + nested})
    data: dict[str, Any] = {"ran": ran, "checks": [c.to_dict() for c in mine]}
    if skipped:
        data["skipped"] = [c.to_dict() for c in skipped]
    failed = [c for c in mine if c.outcome == "fail"]
    nested_failed = [c for c in nested if c.outcome == "fail"]
    if failed:
        return Label(False, f"{failed[0].name}: {failed[0].message}", data)
    if nested_failed:
        first = nested_failed[0]
        data["nested_failures"] = [c.to_dict() for c in nested_failed]
        return Label(False, f"nested block {first.block}: {first.name}: {first.message}", data)
    if (mine or nested) and not understood:
        return Label(None, f"query not understood; passed only: {', '.join(ran)}", data)
    if mine or nested:
        return Label(True, f"passed: {', '.join(ran)}", data)
    return Label(None, "no logic check applied to this block", data)
