#!/usr/bin/env python3
"""Pretrain the reward model's image encoder on synthetic scenes and save it as a folder.

Scenes come from the synthetic world's generator with seeds derived under their own kind
("image-encoder"), so they are disjoint from the scenes ``vipexec dataset`` renders (kind
"scene"). The objective comes from each scene's exact truth: for every cell of the encoder's
token grid and every shape, colour and size, whether an object with that attribute covers part
of the cell (at least ``--min-cover`` of the cell's pixels, from the renderer's owner map). A
linear probe on each patch token learns those flags; the encoder's weights are kept, the probe
is dropped. Held-out scenes (the last ``--val`` of them) measure the probe per attribute group.

    python scripts/pretrain_image_encoder.py runs/image-encoder          # ~2,000 scenes
    python scripts/pretrain_image_encoder.py OUT --scenes 64 --epochs 1  # smoke run

The folder is what ``image.weights`` of a reward config names (see docs/reward.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from vipexec.modules.synthetic import world
from vipexec.modules.synthetic.export import derive_seed
from vipexec.modules.synthetic.scene import generate_scene, render
from vipexec.reward.config import ImageConfig
from vipexec.reward.errors import RewardError
from vipexec.reward.vision import ImageEncoder, load_pixels, pretrain, save_image_encoder

SEED_KIND = "image-encoder"
GROUPS = {
    "shape": tuple(world.SHAPES),
    "color": tuple(world.COLORS),
    "size": tuple(world.SIZES),
}
TARGETS = [(group, value) for group, values in GROUPS.items() for value in values]


def cell_targets(truth: dict, owner: np.ndarray, grid: tuple[int, int], min_cover: float):
    """``[rows * cols, len(TARGETS)]`` flags: which attributes are present in each grid cell."""
    rows, cols = grid
    height, width = owner.shape
    flags = np.zeros((rows * cols, len(TARGETS)), dtype=np.uint8)
    column = {target: k for k, target in enumerate(TARGETS)}
    for r in range(rows):
        for c in range(cols):
            cell = owner[
                r * height // rows : (r + 1) * height // rows,
                c * width // cols : (c + 1) * width // cols,
            ]
            ids, counts = np.unique(cell[cell >= 0], return_counts=True)
            for obj_id, count in zip(ids.tolist(), counts.tolist()):
                if count < min_cover * cell.size:
                    continue
                obj = truth["objects"][obj_id]
                for group in GROUPS:
                    flags[r * cols + c, column[(group, obj[group])]] = 1
    return flags


def scenes(count: int, seed: int, config: ImageConfig, min_cover: float):
    pixels, targets = [], []
    for index in range(count):
        rendered = render(generate_scene(derive_seed(seed, SEED_KIND, index)))
        pixels.append(load_pixels(rendered.image, config))
        targets.append(cell_targets(rendered.truth, rendered.owner, config.grid, min_cover))
    return torch.stack(pixels), torch.from_numpy(np.stack(targets))


@torch.no_grad()
def probe_report(encoder, probe, pixels, targets) -> dict[str, dict[str, float]]:
    """Per attribute group: F1 of the present flags and accuracy over all (cell, value) pairs."""
    predicted = (probe(encoder(pixels)) > 0).numpy()
    truth = targets.numpy().astype(bool)
    out = {}
    start = 0
    for group, values in GROUPS.items():
        p = predicted[..., start : start + len(values)]
        t = truth[..., start : start + len(values)]
        start += len(values)
        tp = int((p & t).sum())
        f1 = 2 * tp / max(1, int(p.sum()) + int(t.sum()))
        out[group] = {"f1": f1, "acc": float((p == t).mean()), "positives": float(t.mean())}
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="encoder folder to write")
    p.add_argument("--scenes", type=int, default=2000, help="scenes rendered (train + val)")
    p.add_argument("--val", type=int, default=200, help="held-out scenes for the report")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0, help="scene seeds and weight initialisation")
    p.add_argument("--min-cover", type=float, default=0.05, help="share of a cell an object needs")
    p.add_argument("--channels", type=int, default=ImageConfig.channels)
    p.add_argument("--layers", type=int, default=ImageConfig.layers)
    p.add_argument("--height", type=int, default=ImageConfig.height)
    p.add_argument("--width", type=int, default=ImageConfig.width)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.scenes <= args.val or args.val < 1 or args.epochs < 1:
        print(
            "pretrain_image_encoder: need --scenes > --val >= 1 and --epochs >= 1",
            file=sys.stderr,
        )
        return 2
    try:
        config = ImageConfig(
            encoder="conv",
            height=args.height,
            width=args.width,
            channels=args.channels,
            layers=args.layers,
        )
    except RewardError as exc:
        print(f"pretrain_image_encoder: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    pixels, targets = scenes(args.scenes, args.seed, config, args.min_cover)
    print(f"rendered {args.scenes} scenes: {time.perf_counter() - started:.0f} s", flush=True)
    train = slice(0, args.scenes - args.val)
    held = slice(args.scenes - args.val, args.scenes)
    torch.manual_seed(args.seed)
    encoder = ImageEncoder(config)
    probe = pretrain(
        encoder,
        pixels[train],
        targets[train],
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        report=lambda epoch, loss: print(f"epoch {epoch}: loss {loss:.4f}", flush=True),
    )
    report = probe_report(encoder, probe, pixels[held], targets[held])
    for group, values in report.items():
        print(
            f"held-out {group}: F1 {values['f1']:.3f}, accuracy {values['acc']:.3f} "
            f"(present in {100 * values['positives']:.1f}% of cell-value pairs)"
        )
    provenance = {
        "objective": "per-cell presence of each shape, colour and size (linear probe, BCE)",
        "scene_seeds": f"derive_seed({args.seed}, {SEED_KIND!r}, i) for i < {args.scenes}",
        "train_scenes": args.scenes - args.val,
        "held_out_scenes": args.val,
        "epochs": args.epochs,
        "min_cover": args.min_cover,
        "held_out": report,
    }
    out = save_image_encoder(encoder, args.out, provenance=provenance)
    print(f"wrote {out} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
