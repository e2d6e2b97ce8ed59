"""How well the three labelers agree with ground truth on synthetic programs.

Generates programs on seeded synthetic scenes (correct ones, ones with injected code faults:
wrong logic operator, wrong attribute word, off-by-one, wrong variable, crashes; and correct
ones run on the noisy backend for attribute errors), labels every block with the relevance,
logic and attribute labelers, and compares each label with ground truth derived from the scene
and the fault (see vipexec.benchmark.quality). Prints per-dimension accuracy, precision, recall
and confusion matrices, and the detection rate per fault kind.

    python bench/label_quality.py [--scenes 40] [--seed 0] [--faults 2]
        [--checker synthetic-noisy --checker-option color_error=0.05 ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vipexec.benchmark.quality import DIMENSIONS, QualityConfig, format_report, measure
from vipexec.labelers.cli import _parse_options


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faults", type=int, default=2, help="faulty variants per instance")
    parser.add_argument("--templates", nargs="*", default=None)
    parser.add_argument("--checker", default="synthetic", help="attribute checker backend")
    parser.add_argument(
        "--checker-option", action="append", default=[], help="KEY=VALUE for the checker"
    )
    parser.add_argument("--checker-mode", default="cross", choices=("cross", "same"))
    parser.add_argument("--max-examples", type=int, default=40, help="hypothesis examples")
    parser.add_argument("--no-noisy", action="store_true", help="skip noisy-backend programs")
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
    report = measure(config)
    print(format_report(report))
    if args.json:
        data = {
            "counts": report.counts(),
            "seconds": report.seconds,
            "metrics": {d: report.metrics(d) for d in DIMENSIONS},
            "confusion": {
                d: {f"{t}/{p}": n for (t, p), n in report.confusion(d).items()} for d in DIMENSIONS
            },
            "faults": {k: list(v) for k, v in report.fault_detection().items()},
        }
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
