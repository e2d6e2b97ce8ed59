"""What a build worker holds: the settings that decide the rows, and the parts they select.

:class:`BuildSettings` is everything that changes the dataset (and so must match when a build is
resumed); the number of workers and the engine are not in it, because they change only how fast
the same rows arrive. :class:`BuildContext` is made once per worker process (or Ray actor) from
the settings: the program source of the chosen generator, the CoT converter, the labelers.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vipexec.build.unit import Stopwatch
from vipexec.core.errors import VipexecError
from vipexec.generate.protocol import Query

__all__ = [
    "CONVERTERS",
    "GENERATORS",
    "BuildContext",
    "BuildError",
    "BuildSettings",
    "SyntheticWorld",
    "check_settings",
]

GENERATORS = ("grammar", "llm", "templates")
CONVERTERS = ("template", "llm")
LOGIC_EXAMPLES = 40
"""property-test examples per logic check (the label-quality benchmark's setting)"""


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
    """models config (YAML/TOML) for model backends, the LLM generator and converter"""
    seed: int = 0
    splits: tuple[tuple[str, float], ...] = (("train", 0.8), ("val", 0.1), ("test", 0.1))
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["splits"] = [list(pair) for pair in self.splits]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildSettings:
        return cls(**{**data, "splits": tuple((str(n), float(f)) for n, f in data["splits"])})


def check_settings(settings: BuildSettings) -> None:
    """Refuse, with one line, a generator or converter this installation cannot provide."""
    if settings.generator not in GENERATORS:
        raise BuildError(f"--generator {settings.generator!r}: one of {', '.join(GENERATORS)}")
    if settings.converter not in CONVERTERS:
        raise BuildError(f"--converter {settings.converter!r}: one of {', '.join(CONVERTERS)}")
    if settings.generator == "templates" and settings.config is not None:
        raise BuildError(
            "--config selects models for the llm generator and converter; the templates "
            "generator runs on the synthetic backend only"
        )
    for option, name, module in (
        ("--generator", settings.generator, _GENERATOR_MODULES.get(settings.generator)),
        ("--converter", settings.converter, _CONVERTER_MODULES.get(settings.converter)),
    ):
        if module is not None and not _importable(module):
            raise BuildError(
                f"{option} {name} needs {module}, which this installation of vipexec does not have"
            )
    if settings.generator != "templates":
        raise BuildError(
            f"--generator {settings.generator}: the tree pipeline (generate tree, execute tree) "
            "is not wired into vipexec build in this version; use --generator templates"
        )
    if settings.converter != "template":
        raise BuildError(
            f"--converter {settings.converter}: only the template converter is wired into "
            "vipexec build in this version"
        )


# Modules the tree pipeline needs, by option value (checked before a build starts).
_GENERATOR_MODULES = {
    "grammar": "vipexec.generate.grammar",
    "llm": "vipexec.generate.llm",
}
_CONVERTER_MODULES = {"llm": "vipexec.cot.llm"}


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


class SyntheticWorld:
    """One query's image store and API namespaces on the synthetic backends."""

    def __init__(self, image_path: Path) -> None:
        from vipexec.modules.api import build_api
        from vipexec.modules.backend import create_backend
        from vipexec.modules.dispatch import LocalDispatcher, ServerDispatcher
        from vipexec.modules.images import ImageStore

        self.store = ImageStore()
        self.image = self.store.load(image_path)
        self._api = lambda backend: build_api(
            ServerDispatcher(LocalDispatcher(backend, self.store))
        )
        self._create = create_backend
        self.clean = self._api(create_backend("synthetic"))

    def noisy(self, seed: int) -> dict[str, Any]:
        from vipexec.benchmark.quality import NOISE

        return self._api(self._create("synthetic-noisy", seed=seed, **NOISE))


class BuildContext:
    """The per-worker parts of a build (see the module docstring)."""

    def __init__(self, settings: BuildSettings, splits: dict[str, str]) -> None:
        check_settings(settings)
        from vipexec.build.synthetic import template_programs
        from vipexec.labelers.attribute import AttributeLabeler
        from vipexec.labelers.logic import LogicLabeler
        from vipexec.labelers.relevance import RelevanceLabeler

        self.settings = settings
        self.splits = splits
        self.clock = Stopwatch()
        self.source = f"vipexec-build/{settings.generator}"
        self.programs = template_programs
        self.labelers = [
            RelevanceLabeler(),
            LogicLabeler(max_examples=LOGIC_EXAMPLES, seed=settings.seed),
            AttributeLabeler(checker="synthetic"),
        ]
        self._rows_folder = Path(settings.out) / "data"

    def label(self, query: Query, run: Any, store: Any) -> None:
        """Label every block of ``run`` in place, timing each labeler as its own stage."""
        from vipexec.labelers.apply import label_run
        from vipexec.labelers.base import LabelContext

        context = LabelContext(query=query.query, store=store)
        for labeler in self.labelers:
            with self.clock.stage(f"label:{labeler.name}"):
                label_run(run, [labeler], context=context)

    def convert(self, query: Query, run: Any) -> list[str]:
        from vipexec.cot import run_steps

        return run_steps(run)

    def synthetic_world(self, query: Query) -> SyntheticWorld:
        if len(query.images) != 1:
            raise BuildError(f"a synthetic query has one image, {query.id} has {len(query.images)}")
        return SyntheticWorld(query.images[0])

    def split_of(self, query_id: str) -> str:
        return self.splits[query_id]

    def image_paths(self, query: Query) -> list[str]:
        return [os.path.relpath(path, self._rows_folder) for path in query.images]
