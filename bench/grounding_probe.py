#!/usr/bin/env python3
"""Does the reward model's attention query know where a step looks in the image?

The multimodal heads attend from each step's feature (the frozen text backbone's hidden state
at the step marker) to the image's grid of patch tokens. Judging an attribute step ("it finds
3, at (183, 107, 235, 159), ...") from the image needs that query to select the cells of the
box the step names. This probe measures whether the step feature carries that location at all:
for every step that names a box, a class-balanced logistic regression reads the grid column
(and, separately, the row) of the first box's centre from the step feature, trained on the
train split, scored on the test split. The same regression on TF-IDF of the step text, and
chance (one over the classes present), are printed alongside; the truth is read from the step
text with a regular expression, so it needs no model.

Then an upper bound on what the image can add at all: per step with an attribute label, the
scene file's truth at the regions the step names (for each box, the object it overlaps most,
IoU >= 0.3: its shape and colour, or "nothing there"), averaged over the step's boxes and
crossed with the shape and colour words of the step. A logistic regression on TF-IDF of the step
text, on these region-truth features, and on both, is scored by test AUROC: if exact truth at
the right place adds little to the text, no image encoder can.

    python bench/grounding_probe.py --data data/reward400 --features data/runs/text-features-384.pt

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
    p.add_argument("--max-length", type=int, default=384, help="as the reward model encodes")
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


def region_truth(text: str, objects, size: tuple[int, int]) -> np.ndarray:
    """What lies at the regions a step names, from the scene's truth (objects with ``box``,
    ``shape`` and ``color``, as :mod:`vipexec.benchmark.scene_facts` reads them), crossed with
    the step's words."""
    from vipexec.modules.backend import box_area, box_iou
    from vipexec.modules.synthetic import world

    names = [*world.SHAPES, *world.COLORS]
    found = []
    for match in BOX.finditer(text):
        box = tuple(map(int, match.groups()))
        area = box_area(box)
        if area <= 0 or area > 0.5 * size[0] * size[1]:  # the whole image names no object
            continue
        best, best_iou = None, 0.0
        for obj in objects:
            iou = box_iou(box, obj.box)
            if iou > best_iou:
                best, best_iou = obj, iou
        flags = np.zeros(len(names) + 1)
        if best is None or best_iou < 0.3:
            flags[-1] = 1.0  # nothing there
        else:
            flags[names.index(best.shape)] = flags[names.index(best.color)] = 1.0
        found.append(flags)
    pooled = np.mean(found, axis=0) if found else np.zeros(len(names) + 1)
    lowered = text.lower()
    said = np.array([float(re.search(r"\b" + name, lowered) is not None) for name in names] + [0])
    return np.concatenate([pooled, said * pooled, said * (1 - pooled), [float(bool(found))]])


def first_frame(dataset, index: int):
    """The facts of a row's first image's scene file (a clip's first frame)."""
    from vipexec.benchmark.scene_facts import Scene

    scene = Scene.load(dataset.images(index)[0])
    return (scene.frames[0] if scene.frames else scene.objects), (scene.width, scene.height)


def attribute_steps(dataset):
    """Texts, region-truth features and attribute labels of every step labelled on attribute."""
    texts, regions, labels = [], [], []
    for i in range(len(dataset)):
        row = dataset.row(i)
        objects, size = first_frame(dataset, i)
        for s, text in enumerate(row["completions"]):
            if row["attribute"][s] is None:
                continue
            texts.append(text)
            regions.append(region_truth(text, objects, size))
            labels.append(int(row["attribute"][s]))
    return texts, np.stack(regions), np.array(labels)


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
        size = first_frame(dataset, i)[1]
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
    if not args.data.exists():
        print(f"grounding_probe: --data {args.data}: no such folder or file", file=sys.stderr)
        return 2
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

    from scipy.sparse import csr_matrix, hstack
    from sklearn.metrics import roc_auc_score

    texts, regions, labels = attribute_steps(dm.datasets["train"])
    test_texts, test_regions, test_labels = attribute_steps(dm.datasets["test"])
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x_words, x_test_words = words.fit_transform(texts), words.transform(test_texts)
    inputs = {
        "TF-IDF of the step text": (x_words, x_test_words),
        "scene truth at the step's regions": (csr_matrix(regions), csr_matrix(test_regions)),
        "both": (
            hstack([x_words, csr_matrix(regions)]),
            hstack([x_test_words, csr_matrix(test_regions)]),
        ),
    }
    print(
        f"\nattribute, what the image can add at most ({len(labels)} train and "
        f"{len(test_labels)} test steps, {int((test_labels == 0).sum())} test negatives): "
        "test AUROC of a logistic regression on"
    )
    for label, (x_train, x_test) in inputs.items():
        model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000)
        model.fit(x_train, labels)
        auroc = roc_auc_score(test_labels, model.predict_proba(x_test)[:, 1])
        print(f"  {label:51s} {100 * auroc:5.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
