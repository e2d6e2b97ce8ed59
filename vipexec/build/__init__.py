"""``vipexec build``: the step dataset from a user's queries (queries -> programs -> labels ->
CoT -> rows), resumable, split by image, on one machine or on Ray.

Modules: :mod:`.unit` (the per-query work), :mod:`.context` (settings and per-worker parts),
:mod:`.synthetic` (synthetic queries and the templates program source), :mod:`.queries`,
:mod:`.splits`, :mod:`.journal`, :mod:`.output`, :mod:`.card`, :mod:`.engine`,
:mod:`.progress`, :mod:`.cli`.
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
