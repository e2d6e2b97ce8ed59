"""``vipexec build``: the step dataset from a user's queries (queries -> programs -> labels ->
CoT -> rows), resumable, split by image, on one machine or on Ray.

Modules: :mod:`.unit` (the per-query work), :mod:`.trees` (the tree pipeline as the program
source), :mod:`.context` (settings and per-worker parts), :mod:`.splits`, :mod:`.journal`,
:mod:`.output`, :mod:`.card`, :mod:`.engine`, :mod:`.progress`, :mod:`.cli`. Queries are read
by :func:`vipexec.generate.queries.read_queries`; the synthetic shortcut's queries come from
:func:`vipexec.benchmark.synthetic_queries.make_synthetic_queries`.
"""

from vipexec.build.context import BuildError, BuildSettings
from vipexec.build.engine import BuildSummary, run_build
from vipexec.build.unit import LabelledRun, QueryResult, process

__all__ = [
    "BuildError",
    "BuildSettings",
    "BuildSummary",
    "LabelledRun",
    "QueryResult",
    "process",
    "run_build",
]
