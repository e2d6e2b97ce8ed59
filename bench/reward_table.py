#!/usr/bin/env python3
"""Paper-shaped table for the reward model: TriAtt-CoT vs baselines and ablations.

Trains every variant in the Lightning harness on a step dataset with the packaged
all-MiniLM-L6-v2 backbone (frozen; its features are computed once and shared by all runs), picks
each run's epoch by validation Avg accuracy, and reports test accuracy per dimension, the Avg
(macro) accuracy and the macro-F1 (two-class F1 averaged over classes, then over dimensions) on
the held-out-by-query test split: mean ± sample standard deviation over seeds.

Without --data it generates the synthetic fixture (scripts/make_step_fixture.py); point --data at
the dataset builder's output to measure on real step data.

    python bench/reward_table.py                       # fixture, 3 seeds
    python bench/reward_table.py --data steps.jsonl --epochs 10 --json out.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from vipexec.core.step_rows import DIMENSIONS

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

REPO = Path(__file__).resolve().parents[1]

# (row name, head kind, contrastive weight)
VARIANTS = [
    ("Majority class", "majority", 0.0),
    ("Linear probe (no attention)", "linear", 0.0),
    ("TriAtt w/o multi-dim label (AND)", "and", 0.1),
    ("TriAtt w/o contrastive", "triatt", 0.0),
    ("TriAtt-CoT", "triatt", 0.1),
]


def make_fixture(out: Path, *, queries: int, programs: int) -> Path:
    spec = importlib.util.spec_from_file_location(
        "make_step_fixture", REPO / "scripts" / "make_step_fixture.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    module.write(module.generate(queries=queries, programs=programs, seed=0), out)
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, help="step dataset (default: generate the fixture)")
    p.add_argument("--queries", type=int, default=400, help="fixture queries (without --data)")
    p.add_argument("--programs", type=int, default=8, help="fixture programs per query")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=192)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument(
        "--attn-dim",
        type=int,
        default=64,
        help="width of each dimension's attention (CPU cost grows with it)",
    )
    p.add_argument(
        "--variants", nargs="+", choices=[v[0] for v in VARIANTS], help="subset of rows to run"
    )
    p.add_argument("--json", type=Path, help="also write the raw results here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        print("reward_table: --epochs and --batch-size must be >= 1", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", message=".*module\\(s\\) in eval mode.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*configure_optimizers.*returned `None`.*")

    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint

    from vipexec.reward.backbone import Backbone
    from vipexec.reward.config import (
        BackboneConfig,
        EncodingConfig,
        HeadConfig,
        LossConfig,
        OptimConfig,
    )
    from vipexec.reward.errors import RewardError
    from vipexec.reward.features import FeatureCache, fill_cache
    from vipexec.reward.lightning import RewardLitModule, StepDataModule
    from vipexec.reward.tokenize import StepEncoder

    # Lightning sets its loggers up on import; its per-run banners would drown the table.
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="reward-bench-"))
    data = args.data
    if data is None:
        data = make_fixture(work / "fixture.jsonl", queries=args.queries, programs=args.programs)
    try:
        dm = StepDataModule(str(data), batch_size=args.batch_size, eval_batch_size=64)
    except RewardError as exc:
        print(f"reward_table: {exc}", file=sys.stderr)
        return 2

    backbone = BackboneConfig(cache_features=True)
    encoding = EncodingConfig(max_length=args.max_length)
    head = dict(attn_dim=args.attn_dim, attn_heads=4, mlp_hidden=128, proj_dim=64, dropout=0.1)
    # One frozen MiniLM: every row's features are computed once, shared by all runs.
    cache = FeatureCache()
    encoder = StepEncoder.from_config(backbone, encoding)
    dm.attach_encoder(encoder)
    dm.setup("fit")
    dm.setup("test")
    t0 = time.perf_counter()
    with torch.no_grad():
        frozen = Backbone(backbone).eval()
        for split in ("train", "val", "test"):
            fill_cache(cache, frozen, dm.datasets[split], pad_id=encoder.pad_id)
    del frozen
    print(
        f"  backbone features for {len(cache)} rows: {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    selected = [v for v in VARIANTS if not args.variants or v[0] in args.variants]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in selected}
    timings: dict[str, list[float]] = {name: [] for name, _, _ in selected}
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    for seed in args.seeds:
        for name, kind, weight in selected:
            t0 = time.perf_counter()
            L.seed_everything(seed, verbose=False)
            lit = RewardLitModule(
                backbone=backbone,
                encoding=encoding,
                head=HeadConfig(kind=kind, **head),
                loss=LossConfig(contrastive_weight=weight),
                optim=OptimConfig(lr=args.lr),
            )
            if lit.net.backbone is not None:
                lit.net.feature_cache = cache
            ckpt = ModelCheckpoint(
                dirpath=work / f"{kind}-{weight}-{seed}",
                monitor="val/avg_acc",
                mode="max",
                save_top_k=1,
                auto_insert_metric_name=False,
                filename="best",
            )
            trainer = L.Trainer(
                accelerator="cpu",
                devices=1,
                deterministic=True,
                logger=False,
                max_epochs=1 if kind == "majority" else args.epochs,
                callbacks=[ckpt],
                enable_progress_bar=False,
                enable_model_summary=False,
                num_sanity_val_steps=0,
            )
            trainer.fit(lit, dm)
            # The majority baseline takes no optimiser step, so nothing is checkpointed: its
            # counts after the one epoch are the model.
            best = "best" if ckpt.best_model_path else None
            result = trainer.test(lit, dm, ckpt_path=best, verbose=False)[0]
            runs[name].append({k: float(v) for k, v in result.items()})
            timings[name].append(time.perf_counter() - t0)
            print(
                f"  seed {seed} {name}: Avg {result['test/avg_acc']:.4f} "
                f"({timings[name][-1]:.0f} s)",
                file=sys.stderr,
                flush=True,
            )

    print_table(runs, timings, dm, args, data, time.perf_counter() - started)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "runs": runs,
                    "seconds": timings,
                },
                indent=2,
            )
        )
    return 0


def fmt(values: list[float]) -> str:
    mean = statistics.fmean(values) * 100
    sd = statistics.stdev(values) * 100 if len(values) > 1 else 0.0
    return f"{mean:5.1f} ± {sd:3.1f}"


def print_table(runs, timings, dm, args, data, total) -> None:
    splits = dm.split_rows()
    print(f"\nStep dataset: {data}")
    for split in ("train", "val", "test"):
        rows = splits[split]
        queries = len({r["meta"]["query_id"] or r["prompt"] for r in rows})
        steps = sum(len(r["completions"]) for r in rows)
        print(f"  {split:5s}: {len(rows):5d} rows, {queries:4d} queries, {steps:6d} steps")
    test = splits["test"]
    rates = []
    for d in DIMENSIONS:
        known = [v for r in test for v in r[d] if v is not None]
        rates.append(f"{d} {100 * sum(known) / max(1, len(known)):.1f}% of {len(known)}")
    print(f"  test label base rates (positive): {', '.join(rates)}")
    cut = dm.truncation.get("test", {})
    if cut:
        print(f"  test steps dropped by truncation: {cut['dropped_steps']} of {cut['steps']}")
    print(
        f"\nBackbone all-MiniLM-L6-v2 (frozen, CPU), max_length {args.max_length}, "
        f"attn_dim {args.attn_dim}, {args.epochs} epochs (best by val Avg), "
        f"batch {args.batch_size}, lr {args.lr}, "
        f"seeds {' '.join(map(str, args.seeds))}; test accuracy and macro-F1 in %, "
        f"mean ± sd over seeds\n"
    )
    header = "| Model | Relevance | Logic | Attribute | Avg | Macro-F1 | s/run |"
    print(header)
    print("|---|---|---|---|---|---|---|")
    for name, results in runs.items():
        cells = [fmt([r[f"test/{d}_acc"] for r in results]) for d in DIMENSIONS]
        cells.append(fmt([r["test/avg_acc"] for r in results]))
        cells.append(fmt([r["test/avg_f1_macro"] for r in results]))
        cells.append(f"{statistics.fmean(timings[name]):.0f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(
        f"\nTotal wall time: {total:.0f} s (the first run includes computing backbone "
        f"features once)"
    )


if __name__ == "__main__":
    sys.exit(main())
