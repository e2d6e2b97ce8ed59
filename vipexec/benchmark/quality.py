"""Label quality against ground truth, on synthetic scenes with injected faults.

For every generated scene and every template that fits it (:mod:`.templates`) the benchmark
builds programs: the correct one run on the clean synthetic backend, the correct one run on the
noisy backend (attribute errors), and programs with injected code faults. Every block of every
program is labelled by the three labelers and compared with ground truth that comes from the
scene and the fault, never from the labelers:

- **relevance**: the program is also run on :class:`~.oracle.TruthBackend` (answers from the
  scene's truth); a program that does not compile is negative everywhere; the block where that
  run fails (and the blocks enclosing it) is negative, and so is every later block that did not
  run; blocks it ran are positive; blocks it skipped are unjudged (None);
- **logic**: the block holding a logic fault (and the blocks enclosing it) is negative when it
  ran on the truth; every other block that ran there is positive; a block holding a crash fault
  is unjudged (its relevance carries the fault);
- **attribute**: every module call a block made (its own and its nested blocks') is re-asked
  of the truth backend; a block is negative when a result differs, positive otherwise (also
  when it made no call); unjudged when it did not run or failed.

:func:`measure` returns a :class:`Report` with confusion matrices; ``bench/label_quality.py``
prints it.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from vipexec.benchmark.oracle import TruthBackend
from vipexec.benchmark.templates import TEMPLATES, Fault, Instance, make_instances
from vipexec.core.program import Program
from vipexec.core.run import Run
from vipexec.core.step_rows import DIMENSIONS
from vipexec.labelers._blocks import ancestors, descendants
from vipexec.labelers.apply import label_run
from vipexec.labelers.attribute import AttributeLabeler
from vipexec.labelers.base import LabelContext
from vipexec.labelers.logic import LogicLabeler
from vipexec.labelers.relevance import RelevanceLabeler

__all__ = [
    "DIMENSIONS",
    "NOISE",
    "LabelledProgram",
    "QualityConfig",
    "Report",
    "iter_labelled",
    "measure",
    "scene_pixels",
]

NOISE = {"color_error": 0.15, "shape_error": 0.1, "miss_rate": 0.1, "spurious_rate": 0.1}


@dataclass
class QualityConfig:
    """What the benchmark generates and how it labels."""

    scenes: int = 40
    seed: int = 0
    faults_per_instance: int = 2
    """code-faulty variants per (scene, template)"""
    noisy: bool = True
    """also run each correct program on the noisy backend"""
    noise: dict[str, float] = field(default_factory=lambda: dict(NOISE))
    templates: list[str] | None = None
    checker: str = "synthetic"
    checker_options: dict[str, Any] = field(default_factory=dict)
    checker_mode: str = "cross"
    max_examples: int = 40
    min_objects: int = 3
    max_objects: int = 6


@dataclass
class LabelledProgram:
    """One benchmark program: its run, the labels and the ground truth per block."""

    query_id: str
    query: str
    template: str
    variant: str
    """``correct``, ``noisy`` or the fault kind"""
    fault: Fault | None
    run: Run
    image: str
    """path-free id of the scene image (its content hash)"""
    scene: int
    labels: dict[str, list[bool | None]]
    truth: dict[str, list[bool | None]]
    faulty_blocks: list[int] = field(default_factory=list)
    store: Any = field(default=None, repr=False)
    """the benchmark's image store (shared): ``store.pixels(image)`` gives the scene"""


@dataclass
class Report:
    programs: list[LabelledProgram]
    config: QualityConfig
    seconds: float = 0.0

    def confusion(self, dimension: str) -> Counter:
        """Counts of (truth, label) pairs; truth None is excluded."""
        counts: Counter = Counter()
        for item in self.programs:
            for truth, label in zip(item.truth[dimension], item.labels[dimension]):
                if truth is not None:
                    counts[(truth, label)] += 1
        return counts

    def metrics(self, dimension: str) -> dict[str, float]:
        return metrics(self.confusion(dimension))

    def fault_detection(self) -> dict[str, tuple[int, int]]:
        """Per fault kind: (faulty blocks labelled negative on the fault's dimension, total)."""
        found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for item in self.programs:
            if item.variant == "noisy":
                for truth, label in zip(item.truth["attribute"], item.labels["attribute"]):
                    if truth is False:
                        found["noise (attribute)"][1] += 1
                        found["noise (attribute)"][0] += label is False
                continue
            if item.fault is None:
                continue
            dimension = item.fault.dimension
            for index in item.faulty_blocks:
                truth = item.truth[dimension][index]
                if truth is False:
                    found[f"{item.fault.kind} ({dimension})"][1] += 1
                    found[f"{item.fault.kind} ({dimension})"][0] += (
                        item.labels[dimension][index] is False
                    )
        return {k: (v[0], v[1]) for k, v in sorted(found.items())}

    def counts(self) -> dict[str, int]:
        blocks = sum(len(p.run.blocks) for p in self.programs)
        variants = Counter(p.variant for p in self.programs)
        return {"programs": len(self.programs), "blocks": blocks, **variants}


def metrics(counts: Counter) -> dict[str, float]:
    """Accuracy over decided labels, strict accuracy (None counts as wrong), coverage, and
    precision/recall/F1 of the negative class (an error found) and of the positive class."""
    tp = counts[(True, True)]
    tn = counts[(False, False)]
    fp = counts[(False, True)]  # an error labelled positive
    fn = counts[(True, False)]  # a good block labelled negative
    undecided = counts[(True, None)] + counts[(False, None)]
    decided = tp + tn + fp + fn
    total = decided + undecided
    out = {
        "judged": total,
        "decided": decided,
        "coverage": decided / total if total else 0.0,
        "accuracy": (tp + tn) / decided if decided else 0.0,
        "strict_accuracy": (tp + tn) / total if total else 0.0,
        "neg_precision": tn / (tn + fn) if tn + fn else 0.0,
        "neg_recall": tn / (tn + fp + counts[(False, None)])
        if tn + fp + counts[(False, None)]
        else 0.0,
        "pos_precision": tp / (tp + fp) if tp + fp else 0.0,
        "pos_recall": tp / (tp + fn + counts[(True, None)])
        if tp + fn + counts[(True, None)]
        else 0.0,
    }
    return out


# --- generation ---------------------------------------------------------------------------------


class _World:
    """Store, backends and namespaces shared by the whole benchmark."""

    def __init__(self, config: QualityConfig) -> None:
        from vipexec.modules.api import build_api
        from vipexec.modules.backend import create_backend
        from vipexec.modules.dispatch import LocalDispatcher, ServerDispatcher
        from vipexec.modules.images import ImageStore

        self.store = ImageStore()
        self.truth_backend = TruthBackend()
        self.clean = build_api(
            ServerDispatcher(LocalDispatcher(create_backend("synthetic"), self.store))
        )
        self.truth = build_api(ServerDispatcher(LocalDispatcher(self.truth_backend, self.store)))
        self._noisy_options = dict(config.noise)
        self._create = create_backend
        self._build = lambda backend: build_api(
            ServerDispatcher(LocalDispatcher(backend, self.store))
        )

    def noisy(self, seed: int) -> dict[str, Any]:
        backend = self._create("synthetic-noisy", seed=seed, **self._noisy_options)
        return self._build(backend)


def _scenes(config: QualityConfig) -> Iterator[tuple[int, Any]]:
    from vipexec.modules.synthetic.export import derive_seed
    from vipexec.modules.synthetic.scene import generate_scene, render

    for index in range(config.scenes):
        seed = derive_seed(config.seed, "label-quality", index)
        spec = generate_scene(
            seed, min_objects=config.min_objects, max_objects=config.max_objects, text_prob=0.0
        )
        yield index, render(spec)


def generate(config: QualityConfig) -> Iterator[tuple[str, Instance, str, Fault | None, Run, Any]]:
    """(query id, instance, variant, fault, run, world) for every benchmark program."""
    world = _World(config)
    rng = random.Random(config.seed)
    for index, rendered in _scenes(config):
        ref = world.store.add(rendered.image)
        world.truth_backend.add(rendered)
        for instance in make_instances(rendered.truth, rng, config.templates):
            query_id = f"{instance.template}-{index:04d}"
            variants: list[tuple[str, Fault | None, dict[str, Any]]] = [
                ("correct", None, world.clean)
            ]
            if config.noisy:
                variants.append(("noisy", None, world.noisy(config.seed * 7919 + index)))
            chosen = rng.sample(
                instance.faults, min(config.faults_per_instance, len(instance.faults))
            )
            variants += [(fault.kind, fault, world.clean) for fault in chosen]
            for variant, fault, namespace in variants:
                source = fault.apply(instance.source) if fault else instance.source
                program = Program.from_source(source, name=f"{query_id}-{variant}.py")
                run = program.run_in_process(
                    namespace=namespace, inputs={"image": ref}, policy=True
                )
                run.meta["query"] = instance.query
                yield query_id, instance, variant, fault, run, (world, ref, rendered)


# --- ground truth -------------------------------------------------------------------------------


def ground_truth(
    run: Run, fault: Fault | None, truth_run: Run, world: _World
) -> tuple[dict[str, list[bool | None]], list[int]]:
    """Per-dimension ground truth of ``run`` (see the module docstring) and the faulty blocks."""
    blocks = run.program.blocks
    faulty = [b.index for b in blocks if fault is not None and b.step == fault.step]
    relevance = _relevance_truth(truth_run)
    logic: list[bool | None] = []
    for trace in truth_run.blocks:
        logic.append(True if trace.status == "ok" else None)
    if fault is not None:
        for index in faulty:
            if fault.dimension == "logic":
                for item in (index, *ancestors(blocks, index)):
                    logic[item] = False if truth_run.blocks[item].executions > 0 else None
            else:
                logic[index] = None
    attribute = _attribute_truth(run, world)
    if truth_run.error is not None and _did_not_compile(truth_run):
        logic = [None] * len(blocks)
        attribute = [None] * len(blocks)
    return {"relevance": relevance, "logic": logic, "attribute": attribute}, faulty


def _did_not_compile(run: Run) -> bool:
    error = run.error
    return error.kind == "compile" or (
        error.kind == "policy" and all(b.executions == 0 for b in run.blocks)
    )


def _relevance_truth(truth_run: Run) -> list[bool | None]:
    blocks = truth_run.program.blocks
    if truth_run.error is not None and _did_not_compile(truth_run):
        return [False] * len(truth_run.blocks)
    failed = truth_run.error.block if truth_run.error is not None else None
    chain = {failed, *ancestors(blocks, failed)} if failed is not None else set()
    out: list[bool | None] = []
    for trace in truth_run.blocks:
        if trace.index in chain:
            out.append(False)
        elif trace.executions > 0:
            out.append(True)
        elif failed is not None and trace.index > failed:
            out.append(False)
        else:
            out.append(None)
    return out


def _attribute_truth(run: Run, world: _World) -> list[bool | None]:
    blocks = run.program.blocks
    wrong: dict[int, bool | None] = {}
    for trace in run.blocks:
        verdicts = [world.truth_backend.judge_call(call, world.store) for call in trace.calls]
        judged = [v for v in verdicts if v is not None]
        if any(v is False for v in judged):
            wrong[trace.index] = True
        elif trace.calls and not judged:
            wrong[trace.index] = None
        else:
            wrong[trace.index] = False
    out: list[bool | None] = []
    for trace in run.blocks:
        members = [trace.index, *descendants(blocks, trace.index)]
        states = [wrong[m] for m in members]
        if any(s is True for s in states):
            out.append(False)
        elif trace.executions == 0 or trace.status == "error" or any(s is None for s in states):
            out.append(None)
        else:
            out.append(True)
    return out


# --- the benchmark ------------------------------------------------------------------------------


def label_benchmark_run(
    run: Run, query: str, world: _World, labelers: list[Any]
) -> dict[str, list[bool | None]]:
    context = LabelContext(query=query, store=world.store)
    found = label_run(run, labelers, context=context)
    return {name: [label.value for label in labels] for name, labels in found.items()}


def build_labelers(config: QualityConfig) -> list[Any]:
    return [
        RelevanceLabeler(),
        LogicLabeler(max_examples=config.max_examples, seed=config.seed),
        AttributeLabeler(
            checker=config.checker,
            checker_options=dict(config.checker_options),
            mode=config.checker_mode,
        ),
    ]


def iter_labelled(config: QualityConfig) -> Iterator[LabelledProgram]:
    """Generate, run, label and ground-truth every benchmark program, one at a time."""
    labelers = build_labelers(config)
    for query_id, instance, variant, fault, run, (world, ref, _) in generate(config):
        truth_run = run.program.run_in_process(
            namespace=world.truth, inputs={"image": ref}, policy=True
        )
        truth, faulty = ground_truth(run, fault, truth_run, world)
        labels = label_benchmark_run(run, instance.query, world, labelers)
        yield LabelledProgram(
            query_id=query_id,
            query=instance.query,
            template=instance.template,
            variant=variant,
            fault=fault,
            run=run,
            image=ref.id,
            scene=int(query_id.rsplit("-", 1)[1]),
            labels=labels,
            truth=truth,
            faulty_blocks=faulty,
            store=world.store,
        )


def scene_pixels(item: LabelledProgram) -> Any:
    """The pixels of the scene a benchmark program ran on."""
    return item.store.pixels(item.image)


def measure(config: QualityConfig | None = None) -> Report:
    config = config or QualityConfig()
    unknown = set(config.templates or ()) - set(TEMPLATES)
    if unknown:
        raise ValueError(f"unknown templates {sorted(unknown)}; known: {sorted(TEMPLATES)}")
    started = time.perf_counter()
    programs = list(iter_labelled(config))
    return Report(programs, config, time.perf_counter() - started)


def format_report(report: Report) -> str:
    """The benchmark's printout: counts, per-dimension metrics and confusion matrices."""
    config = report.config
    counts = report.counts()
    variants = {k: v for k, v in counts.items() if k not in ("programs", "blocks")}
    lines = [
        f"label quality: {config.scenes} scenes (seed {config.seed}), {counts['programs']} "
        f"programs, {counts['blocks']} blocks, {report.seconds:.1f} s",
        "programs by variant: " + ", ".join(f"{k} {v}" for k, v in sorted(variants.items())),
        f"attribute checker: {config.checker} {config.checker_options or ''} "
        f"(mode {config.checker_mode}); noisy primary: {config.noise}",
        "",
    ]
    for dimension in DIMENSIONS:
        confusion = report.confusion(dimension)
        m = metrics(confusion)
        lines.append(
            f"{dimension:<10} accuracy {100 * m['accuracy']:6.2f}% (decided {m['decided']}/"
            f"{m['judged']}, coverage {100 * m['coverage']:5.1f}%), "
            f"strict {100 * m['strict_accuracy']:5.1f}%"
        )
        lines.append(
            f"{'':<10} negative (error found): precision {100 * m['neg_precision']:5.1f}% "
            f"recall {100 * m['neg_recall']:5.1f}%;  positive: precision "
            f"{100 * m['pos_precision']:5.1f}% recall {100 * m['pos_recall']:5.1f}%"
        )
        lines.append(f"{'':<10} confusion (rows truth, columns label):   True  False   None")
        for truth in (True, False):
            row = [confusion[(truth, label)] for label in (True, False, None)]
            lines.append(f"{'':<10} {truth!s:>30} {row[0]:6d} {row[1]:6d} {row[2]:6d}")
        unjudged = sum(1 for p in report.programs for t in p.truth[dimension] if t is None)
        lines.append(f"{'':<10} (blocks without ground truth, not counted: {unjudged})")
        lines.append("")
    lines.append("faulty blocks labelled negative, by fault kind:")
    for kind, (hit, total) in report.fault_detection().items():
        lines.append(f"  {kind:<28} {hit:5d}/{total:<5d} {100 * hit / total if total else 0:5.1f}%")
    return "\n".join(lines)
