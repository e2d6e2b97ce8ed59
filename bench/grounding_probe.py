#!/usr/bin/env python3
"""Does the reward model's attention query know where a step looks in the image?

The multimodal heads attend from each step's feature (the frozen text backbone's hidden state
at the step marker) to the image's grid of patch tokens. Judging an attribute step ("it finds
3, at (183, 107, 235, 159), ...") from the image needs that query to select the cells of the
box the step names. This probe measures whether the step feature carries that location at all:
for every step that names a box, a class-balanced logistic regression reads the grid column
(and, separately, the row) of the first box's centre from the step feature, trained on the
train split, scored on the test split. The same regression on TF-IDF of the step text, and the
majority class, are printed alongside; the truth is read from the step text with a regular
expression, so it needs no model.

    python bench/grounding_probe.py --data data/reward400 --features data/runs/text-features-256.pt

``--features`` is the text-feature file ``bench/reward_table.py --runs-dir`` keeps (computed
here when the file is missing). Columns and rows use the reward encoder's grid (6 x 8 for the
default 96 x 128 input).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

BOX = re.compile(r"\((-?\d+), (-?\d+), (-?\d+), (-?\d+)\)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="vipexec dataset folder")
    p.add_argument("--features", type=Path, help="text features saved by reward_table.py")
    p.add_argument("--max-length", type=int, default=256)
    return p.parse_args(argv)


def first_box_cell(text: str, size: tuple[int, int], grid: tuple[int, int]) -> tuple[int, int]:
    """(row, column) of the grid cell holding the centre of the first box the step names, or
    (-1, -1); boxes are [left, lower, right, upper] with y from the bottom."""
    found = BOX.search(text)
    if found is None:
        return -1, -1
    left, lower, right, upper = map(int, found.groups())
    width, height = size
    rows, cols = grid
    x, y = (left + right) / 2, height - (lower + upper) / 2
    return min(rows - 1, max(0, int(y * rows / height))), min(
        cols - 1, max(0, int(x * cols / width))
    )


def collect(dataset, cache, pad_id: int, grid: tuple[int, int]):
    """Step features, step texts and (row, column) targets of the steps that name a box."""
    import torch

    from vipexec.reward.data import collate_steps

    features, texts, targets = [], [], []
    for i in range(len(dataset)):
        example = dataset[i]
        enc = example["encoded"]
        if not enc.kept:
            continue
        row = dataset.row(i)
        size = (320, 240)  # the synthetic world's scene size; clips share it
        with torch.no_grad():
            hidden = cache.features(collate_steps([example], pad_id=pad_id), None)[0]
        for s in range(enc.kept):
            text = row["completions"][s]
            cell = first_box_cell(text, size, grid)
            if cell[0] < 0:
                continue
            features.append(hidden[enc.step_ends[s]].numpy())
            texts.append(text)
            targets.append(cell)
    return np.stack(features), texts, np.array(targets)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A test split may lack a class the training split has; the score is still defined.
    warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    from vipexec.reward.backbone import Backbone
    from vipexec.reward.config import BackboneConfig, EncodingConfig, ImageConfig
    from vipexec.reward.features import FeatureCache, fill_cache
    from vipexec.reward.lightning import StepDataModule
    from vipexec.reward.tokenize import StepEncoder

    frozen = BackboneConfig(cache_features=True)
    encoder = StepEncoder.from_config(frozen, EncodingConfig(max_length=args.max_length))
    source = args.data / "jsonl" if (args.data / "jsonl").is_dir() else args.data
    dm = StepDataModule(str(source), batch_size=32, eval_batch_size=64)
    dm.attach_encoder(encoder)
    dm.setup("fit")
    dm.setup("test")
    cache = FeatureCache()
    if args.features is not None and args.features.is_file():
        cache.load(args.features)
    backbone = Backbone(frozen).eval()
    for split in ("train", "test"):
        fill_cache(cache, backbone, dm.datasets[split], pad_id=encoder.pad_id)
    grid = ImageConfig().grid
    train = collect(dm.datasets["train"], cache, encoder.pad_id, grid)
    test = collect(dm.datasets["test"], cache, encoder.pad_id, grid)
    print(
        f"steps naming a box: {len(train[2])} train, {len(test[2])} test; grid {grid[0]} x "
        f"{grid[1]}; balanced accuracy on test (chance = 1 / classes present)"
    )
    tfidf = TfidfVectorizer(token_pattern=r"[A-Za-z]+|\d+", ngram_range=(1, 2), min_df=2)
    x_text_train = tfidf.fit_transform(train[1])
    x_text_test = tfidf.transform(test[1])
    for axis, name in ((1, "column"), (0, "row")):
        y_train, y_test = train[2][:, axis], test[2][:, axis]
        chance = 1 / len(set(y_test.tolist()))
        scores = {}
        for label, (x_train, x_test) in {
            "step feature (frozen MiniLM, the attention's query)": (train[0], test[0]),
            "TF-IDF of the step text (words and numbers)": (x_text_train, x_text_test),
        }.items():
            model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000)
            model.fit(x_train, y_train)
            scores[label] = balanced_accuracy_score(y_test, model.predict(x_test))
        print(f"\n{name} of the first box ({len(set(y_test.tolist()))} classes):")
        print(f"  chance                                              {100 * chance:5.1f}%")
        for label, score in scores.items():
            print(f"  {label:51s} {100 * score:5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
