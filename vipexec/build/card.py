"""The dataset card (README.md) and the checks ``vipexec dataset stats`` runs on a build.

The card's YAML header is what ``datasets.load_dataset(folder)`` reads (``configs``: the Parquet
files of each split, and a ``trl`` config for the TRL view) plus a ``vipexec`` entry with the
facts of the build: generator, converter, models, seed, command line, counts per split and label
base rates per dimension. Every top-level value is written as JSON, which is also YAML, so this
module reads the header back without a YAML library.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.dataset import DIMENSIONS

__all__ = ["describe_rows", "image_leaks", "read_card", "render_card"]

FIELDS = ("labels", *DIMENSIONS)


def describe_rows(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts and label base rates of one split's rows."""
    steps = sum(len(row["completions"]) for row in rows)
    rates = {}
    for name in FIELDS:
        counts = Counter(value for row in rows for value in row[name])
        rates[name] = {
            key: round(counts[value] / steps, 4) if steps else 0.0
            for key, value in (("true", True), ("false", False), ("null", None))
        }
    judged = [row["meta"]["correct"] for row in rows if row["meta"].get("correct") is not None]
    return {
        "queries": len({row["meta"]["query_id"] for row in rows}),
        "rows": len(rows),
        "steps": steps,
        "images": len({image for row in rows for image in row["images"]}),
        "answer_accuracy": round(sum(judged) / len(judged), 4) if judged else None,
        "label_rates": rates,
    }


def render_card(facts: dict[str, Any], splits: dict[str, dict[str, Any]]) -> str:
    """The README.md of a build: YAML header, then the same facts for people."""
    configs = [
        {
            "config_name": name,
            "data_files": [
                {"split": split, "path": f"{folder}/{split}-*.parquet"} for split in splits
            ],
        }
        for name, folder in (("default", "data"), ("trl", "trl"))
    ]
    header = {"configs": configs, "vipexec": {**facts, "splits": splits}}
    lines = ["---", *(f"{key}: {json.dumps(value)}" for key, value in header.items()), "---", ""]
    lines += [
        "# Step-level reward dataset (vipexec build)",
        "",
        f"Built by `{facts['command']}` (seed {facts['seed']}): generator "
        f"`{facts['generator']}`, CoT converter `{facts['converter']}`, models "
        f"`{json.dumps(facts['models'])}`; grammar fault rate {facts['fault_rate']}, of which "
        f"{facts['crash_rate']} fail at run time.",
        "",
        "Splits are by image: every image (and every query that shares one) is in exactly one "
        "split. One row per program: `prompt`, `completions` (one CoT step per block), `labels` "
        "(the AND of `relevance`, `logic`, `attribute`; null when unknown), `images`, `meta` "
        "(program, query and block ids, source, split, program text, the program's `answer`, "
        "the `expected_answer` and whether it is `correct`, the `backend` it ran on and its "
        "`noise`, and `code_steps`: each step as the block's code and the values it left).",
        "",
        f'TRL view (`load_dataset(folder, "trl")`): {facts["trl_view"]}.',
        "",
        "| split | queries | rows | steps | images | TRL rows | answer accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for split, info in splits.items():
        accuracy = info["answer_accuracy"]
        lines.append(
            f"| {split} | {info['queries']} | {info['rows']} | {info['steps']} | "
            f"{info['images']} | {info['trl_rows']} | "
            f"{'-' if accuracy is None else f'{100 * accuracy:.1f}%'} |"
        )
    lines += ["", "Label base rates per step (true / false / null):", ""]
    lines += ["| split | " + " | ".join(FIELDS) + " |", "|---" * (len(FIELDS) + 1) + "|"]
    for split, info in splits.items():
        cells = [
            " / ".join(
                f"{100 * info['label_rates'][name][key]:.1f}%" for key in ("true", "false", "null")
            )
            for name in FIELDS
        ]
        lines.append(f"| {split} | " + " | ".join(cells) + " |")
    lines += ["", f"Failed queries or programs: {facts['errors']} (listed in `errors.log`).", ""]
    return "\n".join(lines)


def read_card(folder: Path) -> tuple[str, dict[str, Any]]:
    """The card's text and its header's ``vipexec`` facts."""
    path = folder / "README.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise InvalidArgumentError(f"{folder}: no dataset card (README.md): not a build") from None
    parts = text.split("---\n")
    if len(parts) < 3 or parts[0]:
        raise InvalidArgumentError(f"{path}: no YAML header")
    header = {}
    for line in parts[1].splitlines():
        key, _, value = line.partition(": ")
        header[key] = json.loads(value)
    if "vipexec" not in header:
        raise InvalidArgumentError(f"{path}: not a vipexec build card")
    return text, header["vipexec"]


def image_leaks(folder: Path) -> list[str]:
    """One line per image found in more than one split (by the rows' JSONL shards)."""
    from vipexec.build.splits import image_hash

    rows_folder = folder / "jsonl"
    shards = sorted(rows_folder.glob("*.jsonl"))
    if not shards:
        raise InvalidArgumentError(f"{folder}: no row shards in jsonl/")
    where: dict[str, set[str]] = defaultdict(set)
    hashes: dict[str, str] = {}
    for shard in shards:
        with shard.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                for image in row["images"]:
                    if image not in hashes:
                        path = (rows_folder / image).resolve()
                        hashes[image] = image_hash(path) if path.exists() else image
                    where[hashes[image]].add(row["meta"]["split"])
    names = defaultdict(set)
    for image, key in hashes.items():
        names[key].add(image)
    return [
        f"image {sorted(names[key])[0]} is in splits {', '.join(sorted(splits))}"
        for key, splits in sorted(where.items())
        if len(splits) > 1
    ]
