"""How well the three labelers agree with ground truth: the template benchmark and the
hand-written set, side by side.

**Template benchmark**: generates programs on seeded synthetic scenes (correct ones, ones with
injected code faults: wrong logic operator, wrong attribute word, off-by-one, wrong variable,
crashes; and correct ones run on the noisy backend for attribute errors), labels every block
with the relevance, logic and attribute labelers, and compares each label with ground truth
derived from the scene and the fault (see vipexec.benchmark.quality).

**Hand-written set** (tests/labelers/handwritten, vipexec.labelers.handwritten): programs
written by hand in the styles of the public prompts, outside the templates' query families,
with per-block labels decided by hand; its held-out batches were written after the logic rules
were finished (see the set's README.md). Each program runs on its scene with the clean
synthetic backend and is labelled by the same labelers.

Prints the template report, then one table: per set and dimension, the precision and recall of
the negative label (a fault found; a faulty block labelled None counts as missed), the unknown
rate (judged blocks labelled None) and the counts.

    python bench/label_quality.py [--scenes 40] [--seed 0] [--faults 2]
        [--checker synthetic-noisy --checker-option color_error=0.05 ...]
        [--handwritten DIR | --no-handwritten] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from vipexec.benchmark.quality import (
    DIMENSIONS,
    QualityConfig,
    build_labelers,
    format_report,
    measure,
    metrics,
)
from vipexec.core.errors import InvalidArgumentError
from vipexec.labelers.cli import _parse_options
from vipexec.labelers.handwritten import SPLITS, SceneRunner, load_set

HANDWRITTEN = Path(__file__).resolve().parents[1] / "tests" / "labelers" / "handwritten"


def handwritten_confusions(
    folder: Path, items: list[Any], config: QualityConfig
) -> dict[str, dict[str, Counter]]:
    """(truth, label) counts per split ("all" and each of the set's splits) and dimension."""

    runner = SceneRunner(folder)
    labelers = build_labelers(config)
    out: dict[str, dict[str, Counter]] = {
        split: {d: Counter() for d in DIMENSIONS} for split in ("all", *SPLITS)
    }
    for item in items:
        labelled = runner.label(item, labelers)
        for dimension in DIMENSIONS:
            pairs = zip(item.labels[dimension], labelled.labels[dimension], strict=True)
            for truth, label in pairs:
                if truth is None:
                    continue
                out["all"][dimension][(truth, label)] += 1
                out[item.split][dimension][(truth, label)] += 1
    return out


def summary(counts: Counter) -> dict[str, float | int]:
    """Precision and recall of the negative label, unknown rate and counts."""
    found = metrics(counts)
    judged = sum(counts.values())
    unknown = counts[(True, None)] + counts[(False, None)]
    faulty = counts[(False, True)] + counts[(False, False)] + counts[(False, None)]
    flagged = counts[(False, False)] + counts[(True, False)]
    return {
        "accuracy": found["accuracy"],
        "precision": found["neg_precision"] if flagged else None,
        "recall": found["neg_recall"] if faulty else None,
        "unknown_rate": unknown / judged if judged else 0.0,
        "judged": judged,
        "faulty": faulty,
        "found": counts[(False, False)],
        "false_alarms": counts[(True, False)],
        "unknown": unknown,
        "faulty_unknown": counts[(False, None)],
    }


def format_side_by_side(rows: dict[str, dict[str, dict[str, float | int]]]) -> str:
    lines = [
        "negative label (fault found): precision, recall (a None on a faulty block is a miss),",
        "unknown = judged blocks labelled None",
        "",
        f"{'set':<14} {'dimension':<10} {'accuracy':>8} {'precision':>9} {'recall':>7} "
        f"{'unknown':>8} {'judged':>7} {'faulty':>7} {'found':>6} {'false+':>7} {'faulty?':>8}",
    ]
    for name, dimensions in rows.items():
        for dimension, s in dimensions.items():
            lines.append(
                f"{name:<14} {dimension:<10} {_percent(s['accuracy']):>8} "
                f"{_percent(s['precision']):>9} {_percent(s['recall']):>7} "
                f"{_percent(s['unknown_rate']):>8} {s['judged']:7d} {s['faulty']:7d}"
                f" {s['found']:6d} {s['false_alarms']:7d} {s['faulty_unknown']:8d}"
            )
    lines.append("(precision and recall are '-' where a set has no negative label or no fault)")
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faults", type=int, default=2, help="faulty variants per instance")
    parser.add_argument("--templates", nargs="*", default=None)
    parser.add_argument(
        "--checker",
        default="synthetic-independent",
        help="attribute checker: a backend name, or the default second pixel reader",
    )
    parser.add_argument(
        "--checker-option", action="append", default=[], help="KEY=VALUE for the checker"
    )
    parser.add_argument("--checker-mode", default="cross", choices=("cross", "same"))
    parser.add_argument("--max-examples", type=int, default=40, help="hypothesis examples")
    parser.add_argument("--no-noisy", action="store_true", help="skip noisy-backend programs")
    parser.add_argument("--handwritten", type=Path, default=HANDWRITTEN, help="hand-written set")
    parser.add_argument("--no-handwritten", action="store_true", help="templates only")
    parser.add_argument("--json", type=Path, help="also write the metrics as JSON")
    args = parser.parse_args(argv)
    config = QualityConfig(
        scenes=args.scenes,
        seed=args.seed,
        faults_per_instance=args.faults,
        templates=args.templates,
        checker=args.checker,
        checker_options=_parse_options(args.checker_option),
        checker_mode=args.checker_mode,
        max_examples=args.max_examples,
        noisy=not args.no_noisy,
    )
    items = []
    if not args.no_handwritten:
        try:  # a bad set is reported before the long template run
            items = load_set(args.handwritten)
        except InvalidArgumentError as exc:
            print(f"label_quality: {exc}", file=sys.stderr)
            return 2
    report = measure(config)
    print(format_report(report))
    rows = {"templates": {d: summary(report.confusion(d)) for d in DIMENSIONS}}
    if not args.no_handwritten:
        confusions = handwritten_confusions(args.handwritten, items, config)
        for split in ("all", *SPLITS):
            name = "hand-written" if split == "all" else f"  {split}"
            rows[name] = {d: summary(confusions[split][d]) for d in DIMENSIONS}
    print()
    print(format_side_by_side(rows))
    if args.json:
        data = {
            "counts": report.counts(),
            "seconds": report.seconds,
            "metrics": {d: report.metrics(d) for d in DIMENSIONS},
            "confusion": {
                d: {f"{t}/{p}": n for (t, p), n in report.confusion(d).items()} for d in DIMENSIONS
            },
            "faults": {k: list(v) for k, v in report.fault_detection().items()},
            "side_by_side": {name.strip(): dims for name, dims in rows.items()},
        }
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
