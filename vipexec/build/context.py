"""What a build worker holds: the settings that decide the rows, and the parts they select.

:class:`BuildSettings` is everything that changes the dataset (and so must match when a build is
resumed); the number of workers and the engine are not in it, because they change only how fast
the same rows arrive. :class:`BuildContext` is made once per worker process (or Ray actor) from
the settings: the generator, the tree limits, the CoT converter, the labelers and one sandbox
(:func:`vipexec.generate.execute_tree.tree_sandbox`) per backend the worker's trees run on (the
clean synthetic one, and the noisy one for a build with ``noise``: :mod:`vipexec.build.backends`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vipexec.build.backends import QueryBackend, query_backend
from vipexec.build.unit import Stopwatch
from vipexec.core.errors import VipexecError
from vipexec.generate.command import GENERATORS, LLMSettings
from vipexec.generate.protocol import Query

__all__ = [
    "CONVERTERS",
    "GENERATORS",
    "BuildContext",
    "BuildError",
    "BuildSettings",
    "check_settings",
]

CONVERTERS = ("template", "llm")
LOGIC_EXAMPLES = 40
"""property-test examples per logic check (the label-quality benchmark's setting)"""
CACHE_FOLDER = "cache"
"""LLM answers, under the output folder (a resumed build asks no question twice)"""


class BuildError(VipexecError):
    """A build that cannot start or go on: one line for the user."""


@dataclass(frozen=True)
class BuildSettings:
    """The inputs that decide the rows (compared when an output folder is reused)."""

    images: str
    """absolute folder the queries' image paths are relative to"""
    out: str
    """absolute output folder (rows name images relative to its ``data/``)"""
    generator: str = "grammar"
    converter: str = "template"
    config: str | None = None
    """models config (YAML/TOML) for model backends (not used by the tree pipeline yet)"""
    seed: int = 0
    alternatives: int = 2
    max_steps: int = 6
    max_leaves: int = 64
    fault_rate: float = 0.5
    """chance that a further alternative of a grammar step is faulty"""
    crash_rate: float = 0.0
    """share of the grammar's faulty alternatives that fail at run time (where a step has one)"""
    noise: float = 0.0
    """error rate of each perception operation on the noisy backend (0: every program runs on
    the clean one)"""
    noisy_share: float = 1.0
    """share of the queries run on the noisy backend when ``noise`` > 0"""
    llm: dict[str, Any] | None = None
    """:class:`vipexec.generate.command.LLMSettings` as data (``--generator/--converter llm``)"""
    splits: tuple[tuple[str, float], ...] = (("train", 0.8), ("val", 0.1), ("test", 0.1))
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["splits"] = [list(pair) for pair in self.splits]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildSettings:
        return cls(**{**data, "splits": tuple((str(n), float(f)) for n, f in data["splits"])})

    @property
    def llm_settings(self) -> LLMSettings:
        return LLMSettings.from_dict(self.llm or {})

    @property
    def cache(self) -> Path:
        return Path(self.out) / CACHE_FOLDER


def check_settings(settings: BuildSettings) -> None:
    """Refuse, with one line, a generator, converter or model this build cannot use."""
    from vipexec.generate.command import chat_client
    from vipexec.generate.tree_builder import TreeLimits

    if settings.generator not in GENERATORS:
        raise BuildError(f"--generator {settings.generator!r}: one of {', '.join(GENERATORS)}")
    if settings.converter not in CONVERTERS:
        raise BuildError(f"--converter {settings.converter!r}: one of {', '.join(CONVERTERS)}")
    if settings.config is not None:
        raise BuildError(
            "--config: the tree pipeline runs the API on the synthetic backend in this version "
            "(the LLM generator and converter take the --llm-* options)"
        )
    TreeLimits(settings.alternatives, settings.max_steps, settings.max_leaves)
    for option, rate in (
        ("--fault-rate", settings.fault_rate),
        ("--crash-rate", settings.crash_rate),
        ("--noise", settings.noise),
        ("--noisy-share", settings.noisy_share),
    ):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise BuildError(f"{option} {rate!r}: expected a number from 0 to 1")
    for option, name in (("--generator", settings.generator), ("--converter", settings.converter)):
        if name == "llm":  # a missing or unreachable model is refused before any work
            chat_client(settings.llm_settings, settings.cache, needed_by=f"{option} llm")


class BuildContext:
    """The per-worker parts of a build (see the module docstring)."""

    def __init__(self, settings: BuildSettings, splits: dict[str, str]) -> None:
        check_settings(settings)
        from vipexec.build.trees import tree_programs
        from vipexec.generate.command import make_generator
        from vipexec.generate.execute_tree import tree_sandbox
        from vipexec.generate.grammar import GrammarGenerator
        from vipexec.generate.tree_builder import TreeLimits
        from vipexec.labelers.attribute import AttributeLabeler
        from vipexec.labelers.logic import LogicLabeler
        from vipexec.labelers.relevance import RelevanceLabeler

        self.settings = settings
        self.splits = splits
        self.clock = Stopwatch()
        self.source = f"vipexec-build/{settings.generator}"
        self.programs = tree_programs
        llm = settings.llm_settings
        if settings.generator == "grammar":
            self.generator = GrammarGenerator(
                seed=settings.seed, fault_rate=settings.fault_rate, crash_rate=settings.crash_rate
            )
        else:
            self.generator = make_generator(settings.generator, settings.seed, llm, settings.cache)
        self.limits = TreeLimits(settings.alternatives, settings.max_steps, settings.max_leaves)
        self.converter = _converter(settings.converter, llm, settings.cache)
        self.labelers = [
            RelevanceLabeler(),
            LogicLabeler(max_examples=LOGIC_EXAMPLES, seed=settings.seed),
            AttributeLabeler(),  # the independent pixel checker, not the backend's own rules
        ]
        self._tree_sandbox = tree_sandbox
        self._sandboxes: dict[str, Any] = {}
        self._rows_folder = Path(settings.out) / "data"

    def close(self) -> None:
        for sandbox in self._sandboxes.values():
            sandbox.close()

    def backend_of(self, query: Query) -> QueryBackend:
        settings = self.settings
        return query_backend(
            query.id, noise=settings.noise, share=settings.noisy_share, seed=settings.seed
        )

    def sandbox_for(self, backend: QueryBackend) -> Any:
        """The worker's sandbox over ``backend`` (made on first use)."""
        if backend.name not in self._sandboxes:
            # one sandbox process per backend and build worker: --workers sets how many run
            self._sandboxes[backend.name] = self._tree_sandbox(
                backend.name, workers=1, backend_options=backend.options
            )
        return self._sandboxes[backend.name]

    def split_of(self, query_id: str) -> str:
        return self.splits[query_id]

    def image_paths(self, query: Query) -> list[str]:
        return [os.path.relpath(path, self._rows_folder) for path in query.images]


def _converter(kind: str, llm: LLMSettings, cache: Path) -> Any:
    if kind == "template":
        from vipexec.cot.template import TemplateConverter

        return TemplateConverter()
    from vipexec.cot.llm import LLMStepConverter
    from vipexec.generate.command import chat_client

    client = chat_client(llm, cache, needed_by="--converter llm")
    return LLMStepConverter(client, send_images=llm.images)
