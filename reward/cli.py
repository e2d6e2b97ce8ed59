"""``vipexec reward ...``: LightningCLI for fit/validate/test/predict, plus select and export.

Bad input (missing file, malformed row, bad option) ends with one line on stderr and exit
status 2; ``--help`` exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from vipexec.core.terminal import terminal_text
from vipexec.reward.errors import RewardError

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
# Packaged configs sit in the package folder itself: the wheel's package data ("*.yaml")
# covers that folder, not sub-folders.
CONFIG_DIR = Path(__file__).resolve().parent

USAGE = """\
usage: vipexec reward COMMAND [ARGS]

commands:
  fit|validate|test|predict   train/evaluate/score with LightningCLI; --config takes a YAML
                              file or a packaged config name ({configs}); see COMMAND --help
  select FILE [FILE ...]      best-of-N over candidate rows grouped by query; see select --help
  export CHECKPOINT OUT_DIR   write safetensors + config.json for use without Lightning
"""


def packaged_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        stream = sys.stdout if args else sys.stderr
        print(USAGE.format(configs=", ".join(packaged_configs())), file=stream, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    try:
        if command in LIGHTNING_COMMANDS:
            return _run_lightning([command, *_resolve_configs(rest)])
        if command == "select":
            return _run_select(rest)
        if command == "export":
            return _run_export(rest)
        raise RewardError(
            f"unknown command {command!r}; expected one of "
            f"{', '.join([*LIGHTNING_COMMANDS, 'select', 'export'])}"
        )
    except RewardError as exc:
        return _fail(str(exc))
    except argparse.ArgumentError as exc:
        return _fail(" ".join(str(exc).split()))
    except FileNotFoundError as exc:
        return _fail(f"file not found: {exc.filename or exc}")
    except SystemExit as exc:  # --help and parser exits
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)


def _fail(message: str) -> int:
    # File names and row contents reach the message: escaped, they cannot drive the terminal.
    print(f"vipexec reward: error: {terminal_text(message)}", file=sys.stderr)
    return 2


def _resolve_configs(args: list[str]) -> list[str]:
    """Let ``--config NAME`` name a packaged config; a missing config file is our error."""
    out = []
    i = 0
    while i < len(args):
        arg = args[i]
        value, joined = None, False
        if arg in ("--config", "-c") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--config="):
            value, joined = arg.split("=", 1)[1], True
        if value is None:
            out.append(arg)
            i += 1
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            packaged = CONFIG_DIR / f"{value}.yaml"
            if not packaged.is_file():
                raise RewardError(
                    f"config not found: {value} (packaged configs: {', '.join(packaged_configs())})"
                )
            path = packaged
        out += [f"--config={path}"] if joined else ["--config", str(path)]
        i += 1 if joined else 2
    return out


def _run_lightning(args: list[str]) -> int:
    import logging

    from lightning.pytorch.cli import LightningCLI

    from vipexec.reward.lightning import RewardLitModule, ScoresWriter, StepDataModule

    class RewardCLI(LightningCLI):
        def add_arguments_to_parser(self, parser: Any) -> None:
            parser.add_lightning_class_args(ScoresWriter, "writer")

    # The seed is in the saved config.yaml; its log line would precede any one-line error.
    logging.getLogger("lightning.fabric.utilities.seed").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # Called as a library with explicit args; Lightning warns when sys.argv is non-empty.
        warnings.filterwarnings("ignore", message=".*args.*parameter is intended to run")
        RewardCLI(
            RewardLitModule,
            StepDataModule,
            args=args,
            auto_configure_optimizers=False,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"exit_on_error": False},
        )
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise RewardError(f"{self.prog}: {message}")


def _run_export(args: list[str]) -> int:
    parser = _Parser(
        prog="vipexec reward export",
        description="Export a reward checkpoint to safetensors + config.json.",
    )
    parser.add_argument("checkpoint", help="Lightning checkpoint (.ckpt) of a reward model")
    parser.add_argument("out_dir", help="output folder")
    ns = parser.parse_args(args)
    from vipexec.reward.export import export_checkpoint

    out = export_checkpoint(ns.checkpoint, ns.out_dir)
    print(f"exported {ns.checkpoint} to {out}")
    return 0


def _run_select(args: list[str]) -> int:
    from vipexec.reward.select import AGGREGATORS, candidate_key, rank

    parser = _Parser(
        prog="vipexec reward select",
        description="Pick the best of N candidates per query. Rows are step-dataset rows "
        "(labels optional); rows with a 'scores' field (as written by predict) are used as "
        "they are, others are scored with --model.",
    )
    parser.add_argument("files", nargs="+", help="candidate files (.jsonl/.parquet)")
    parser.add_argument("--model", help="reward export folder or checkpoint, to score rows")
    parser.add_argument(
        "--aggregator",
        choices=AGGREGATORS,
        default="paper",
        help="how step scores rank a candidate (default: paper)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="a label is positive above this probability (paper rule)",
    )
    parser.add_argument(
        "--normalize",
        action="store_true",
        help="divide the paper rule's counts by the number of steps",
    )
    parser.add_argument(
        "--group-by",
        choices=("query_id", "prompt", "file"),
        default="query_id",
        help="what makes candidates compete (query_id falls back to prompt)",
    )
    parser.add_argument("--device", default="cpu", help="device for --model (default: cpu)")
    parser.add_argument("--output", help="write JSONL here instead of stdout")
    ns = parser.parse_args(args)

    rows = _read_candidates(ns.files)
    missing = [i for i, r in enumerate(rows) if r.get("scores") is None]
    if missing:
        if ns.model is None:
            r = rows[missing[0]]
            raise RewardError(
                f"{r['_file']} row {r['_row']}: no 'scores'; pass --model to score candidates"
            )
        from vipexec.reward.inference import RewardModel

        model = RewardModel.load(ns.model, device=ns.device)
        scored = model.score_batch([_with_image_paths(rows[i]) for i in missing])
        for i, scores in zip(missing, scored):
            rows[i]["scores"] = scores
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(_group_key(row, ns.group_by), []).append(row)
    lines = []
    for key, members in groups.items():
        options = {
            "aggregator": ns.aggregator,
            "threshold": ns.threshold,
            "normalize": ns.normalize,
        }
        order = rank([m["scores"] for m in members], **options)
        ranking = [
            {
                **_describe(members[i]),
                "key": _finite(candidate_key(members[i]["scores"], **options)),
            }
            for i in order
        ]
        lines.append(
            json.dumps(
                {
                    "group": key,
                    "n_candidates": len(members),
                    "aggregator": ns.aggregator,
                    "selected": ranking[0],
                    "ranking": ranking,
                }
            )
        )
    text = "\n".join(lines) + "\n"
    if ns.output:
        Path(ns.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _read_candidates(files: Sequence[str]) -> list[dict[str, Any]]:
    from vipexec.reward.data import _read_raw, data_files

    rows = []
    for path in data_files(files):
        for number, raw in enumerate(_read_raw(path), start=1):
            where = f"{path} row {number}"
            if not isinstance(raw.get("prompt"), str):
                raise RewardError(f"{where}: field 'prompt' must be a string")
            steps = raw.get("completions")
            if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
                raise RewardError(f"{where}: field 'completions' must be a list of strings")
            scores = raw.get("scores")
            if scores is not None and (not isinstance(scores, list) or len(scores) != len(steps)):
                raise RewardError(f"{where}: field 'scores' must have one entry per step")
            rows.append({**raw, "_file": str(path), "_row": number})
    if not rows:
        raise RewardError("no candidate rows")
    return rows


def _with_image_paths(row: dict[str, Any]) -> dict[str, Any]:
    base = Path(row["_file"]).parent
    images = [str(p if Path(p).is_absolute() else base / p) for p in row.get("images") or []]
    return {**row, "images": images}


def _group_key(row: dict[str, Any], group_by: str) -> str:
    if group_by == "file":
        return row["_file"]
    meta = row.get("meta") or {}
    if group_by == "query_id" and meta.get("query_id") is not None:
        return str(meta["query_id"])
    return row["prompt"]


def _finite(key: tuple[float, ...]) -> list[float | None]:
    # JSON has no -Infinity; a candidate with no scored step gets null.
    return [k if k != float("-inf") else None for k in key]


def _describe(row: dict[str, Any]) -> dict[str, Any]:
    meta = row.get("meta") or {}
    return {"file": row["_file"], "row": row["_row"], "program_id": meta.get("program_id")}


if __name__ == "__main__":
    sys.exit(main())
