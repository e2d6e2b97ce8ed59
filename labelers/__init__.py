"""vipexec.labelers: step labels on three dimensions (relevance, logic, attribute).

    from vipexec.labelers import label_run, LabelContext
    labels = label_run(run, ["relevance", "logic", "attribute"],
                       context=LabelContext(query="How many red circles are there?", store=store))

Labelers are registered by name (:func:`register_labeler`); third-party labelers are found
through the ``vipexec.labelers`` entry-point group. See docs/labels.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vipexec.core.lazy import lazy_exports

_EXPORTS = {
    "Label": "vipexec.labelers.base",
    "LabelContext": "vipexec.labelers.base",
    "Labeler": "vipexec.labelers.base",
    "LabelerError": "vipexec.labelers.base",
    "available_labelers": "vipexec.labelers.registry",
    "create_labeler": "vipexec.labelers.registry",
    "register_labeler": "vipexec.labelers.registry",
    "ENTRY_POINT_GROUP": "vipexec.labelers.registry",
    "DEFAULT_LABELERS": "vipexec.labelers.apply",
    "build_labelers": "vipexec.labelers.apply",
    "label_run": "vipexec.labelers.apply",
    "label_tree": "vipexec.labelers.apply",
    "label_file": "vipexec.labelers.apply",
    "RelevanceLabeler": "vipexec.labelers.relevance",
    "LogicLabeler": "vipexec.labelers.logic",
    "AttributeLabeler": "vipexec.labelers.attribute",
    "Suite": "vipexec.labelers.suites",
    "TestOutcome": "vipexec.labelers.suites",
    "run_suite": "vipexec.labelers.suites",
    "lint_suite": "vipexec.labelers.linter",
    "Finding": "vipexec.labelers.linter",
    "Executor": "vipexec.labelers.execution",
    "run_program": "vipexec.labelers.execution",
}

__all__ = [
    "DEFAULT_LABELERS",
    "ENTRY_POINT_GROUP",
    "AttributeLabeler",
    "Executor",
    "Finding",
    "Label",
    "LabelContext",
    "Labeler",
    "LabelerError",
    "LogicLabeler",
    "RelevanceLabeler",
    "Suite",
    "TestOutcome",
    "available_labelers",
    "build_labelers",
    "create_labeler",
    "label_file",
    "label_run",
    "label_tree",
    "lint_suite",
    "register_labeler",
    "run_program",
    "run_suite",
]

if TYPE_CHECKING:  # pragma: no cover
    from vipexec.labelers.apply import (
        DEFAULT_LABELERS,
        build_labelers,
        label_file,
        label_run,
        label_tree,
    )
    from vipexec.labelers.attribute import AttributeLabeler
    from vipexec.labelers.base import Label, LabelContext, Labeler, LabelerError
    from vipexec.labelers.execution import Executor, run_program
    from vipexec.labelers.linter import Finding, lint_suite
    from vipexec.labelers.logic import LogicLabeler
    from vipexec.labelers.registry import (
        ENTRY_POINT_GROUP,
        available_labelers,
        create_labeler,
        register_labeler,
    )
    from vipexec.labelers.relevance import RelevanceLabeler
    from vipexec.labelers.suites import Suite, TestOutcome, run_suite


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
