"""CLI helpers: ``vipexec models`` and building the model host from ``--config/--profile``.

Plain functions (the top-level typer app wires them): :func:`models_command` prints what a
profile routes where and whether each model is loadable here; :func:`build_call_server` turns
the CLI's flags into a :class:`~vipexec.modules.models.host.ModelHost`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from vipexec.modules.backend import METHODS
from vipexec.modules.models.base import module_class
from vipexec.modules.models.errors import ConfigError
from vipexec.modules.models.profile import ModelsConfig, load_config

if TYPE_CHECKING:
    from vipexec.modules.images import ImageStore
    from vipexec.modules.models.host import ModelHost

__all__ = ["build_call_server", "models_command", "models_report", "server_from_config"]

METHOD_ORDER = (
    "find",
    "exists",
    "verify_property",
    "best_text_match",
    "best_image_match",
    "simple_query",
    "compute_depth",
    "llm_query",
    "select_answer",
)
assert set(METHOD_ORDER) == set(METHODS)


def _devices(device: str | None) -> str | tuple[str, ...] | None:
    if device is None:
        return None
    if device in ("auto", "cpu"):
        return device
    return tuple(part.strip() for part in device.split(",") if part.strip())


def build_call_server(
    config: str | os.PathLike[str] | ModelsConfig | None = None,
    profile: str | None = None,
    *,
    store: ImageStore | None = None,
    device: str | None = None,
    max_batch: int | None = None,
    max_wait_ms: float | None = None,
    cache: str | None = None,
    cache_path: str | os.PathLike[str] | None = None,
    batching: bool = True,
) -> ModelHost:
    """The model host for ``--config FILE --profile NAME`` and the host flags.

    ``device``: ``"cpu"``, ``"auto"`` or a comma list (``"cuda:0,cuda:1"``); ``cache``: ``"off"``,
    ``"memory"`` or ``"sqlite"`` (``cache_path`` alone implies sqlite). Raises ConfigError.
    """
    from vipexec.modules.models.host import ModelHost

    loaded = config if isinstance(config, ModelsConfig) else load_config(config)
    if cache_path is not None and cache is None:
        cache = "sqlite"
    loaded = loaded.with_host(
        devices=_devices(device),
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        cache=cache,
        cache_path=None if cache_path is None else str(Path(cache_path).expanduser().absolute()),
    )
    return ModelHost(loaded, profile, store=store, batching=batching)


def server_from_config(
    config: str | os.PathLike[str] | ModelsConfig | None = None,
    profile: str | None = None,
    **flags: Any,
) -> ModelHost:
    """The call server for ``vipexec run --config FILE [--profile NAME]`` (see
    :func:`build_call_server` for the flags); the host's ``store`` is the one to run with."""
    return build_call_server(config, profile, **flags)


def models_report(
    config: ModelsConfig, profile: str | None = None, *, load: bool = False
) -> dict[str, Any]:
    """What :func:`models_command` prints, as data: one row per method, one per model."""
    chosen = config.profile(profile)
    context = config.context
    modules: dict[str, Any] = {}
    models: dict[str, dict[str, Any]] = {}
    for name, spec in config.models.items():
        module = module_class(spec.kind)(spec, context)
        modules[name] = module
        ok, reason = module.check()
        models[name] = {
            "model": name,
            "kind": spec.kind,
            "model_id": module.model_id,
            "checkpoint": spec.checkpoint,
            "memory_gb": spec.memory_gb,
            "loadable": ok,
            "reason": reason,
            "device": None,
            "dtype": None,
            "used": name in chosen.routes.values(),
        }
    if any(m.uses_torch for m in modules.values()) and importlib.util.find_spec("torch"):
        from vipexec.modules.models.devices import (
            PlacementRequest,
            discover_gpus,
            plan_placement,
        )

        gpus = []
        if config.host.devices != "cpu":
            gpus = discover_gpus(config.host.devices, config.host.gpu_memory_fraction)
        plan = plan_placement(
            [
                PlacementRequest(
                    name,
                    m.spec.memory_gb,
                    m.spec.device,
                    m.spec.dtype,
                    m.half_precision,
                    m.bf16,
                    m.uses_torch,
                )
                for name, m in modules.items()
                if models[name]["used"]
            ],
            gpus,
        )
        for name, placed in plan.items():
            models[name]["device"] = placed.device
            models[name]["dtype"] = placed.dtype
    if load:
        _load_as_run_would(config, chosen.name, models)
    rows = []
    for method in METHOD_ORDER:
        name = chosen.model_for(method)
        if name is None:
            rows.append({"method": method, "model": None, "loadable": False,
                         "reason": "not configured in this profile"})  # fmt: skip
        else:
            rows.append({"method": method, **models[name]})
    return {
        "config": config.source,
        "profile": chosen.name,
        "profiles": sorted(config.profiles),
        "offline": config.offline,
        "methods": rows,
        "models": list(models.values()),
    }


def _load_as_run_would(config: ModelsConfig, profile: str, models: dict[str, dict]) -> None:
    """Load every used, loadable model through the host ``vipexec run --config`` builds (same
    placement, same resolver for models that reference others), then unload; ``models`` rows
    get the outcome."""
    host = build_call_server(config, profile, cache="off")
    try:
        for name, row in models.items():
            if not row["used"] or not row["loadable"]:
                continue
            methods = [method for method, model in host.profile.routes.items() if model == name]
            try:
                host.load(methods)
                device = host.placement()[name].device
            except Exception as exc:
                row["loadable"] = False
                row["reason"] = f"load failed: {exc}"
            else:
                row["reason"] = f"loaded on {device}: {row['reason']}"
    finally:
        for module in host.modules.values():
            module.unload()
        host.close()


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


def models_command(
    config: str | os.PathLike[str] | None = None,
    profile: str | None = None,
    *,
    load: bool = False,
    as_json: bool = False,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """``vipexec models``: the profile's methods, their models and whether each loads here.

    Exit code: 0 every routed model is loadable, 1 some are not (or a method has no model),
    2 the config is unreadable or invalid (one line on ``err``).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        loaded = load_config(config)
        report = models_report(loaded, profile, load=load)
    except ConfigError as exc:
        print(f"error: {exc}", file=err)
        return 2
    if as_json:
        print(json.dumps(report, indent=2, default=str), file=out)
    else:
        others = [p for p in report["profiles"] if p != report["profile"]]
        header = f"config: {report['config']}\nprofile: {report['profile']}"
        if others:
            header += f" (other profiles: {', '.join(others)})"
        header += "   offline" if report["offline"] else "   downloads allowed"
        print(header, file=out)
        rows = [["METHOD", "MODEL", "KIND", "CHECKPOINT", "DEVICE", "LOADABLE"]]
        for row in report["methods"]:
            device = row.get("device") or "-"
            if row.get("dtype") and row["dtype"] != "-":
                device = f"{device}/{row['dtype']}"
            rows.append(
                [
                    row["method"],
                    row.get("model") or "-",
                    row.get("kind") or "-",
                    row.get("checkpoint") or row.get("model_id") or "-",
                    device,
                    ("yes: " if row["loadable"] else "no: ") + str(row["reason"]),
                ]
            )
        for line in _table(rows):
            print(line, file=out)
        unused = [m["model"] for m in report["models"] if not m["used"]]
        if unused:
            print(f"models not used by this profile: {', '.join(unused)}", file=out)
    return 0 if all(row["loadable"] for row in report["methods"]) else 1
