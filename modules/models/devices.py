"""Device placement by declared memory, and the dtype each placed model runs in.

:func:`plan_placement` is pure (unit-tested without GPUs): models pinned to a device go there
(or to the CPU, with the reason, when that device is absent); the others, largest declared
``memory_gb`` first, go to the GPU with the most free declared memory that still fits them, else
to the CPU. :func:`choose_dtype` picks bf16 (GPUs that support it), else fp16, for families that
allow half precision, and fp32 on the CPU. :func:`discover_gpus` asks torch what is there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Gpu",
    "Placement",
    "PlacementRequest",
    "choose_dtype",
    "discover_gpus",
    "plan_placement",
]


@dataclass(frozen=True, slots=True)
class Gpu:
    name: str
    """torch device name, ``cuda:N``"""
    capacity_gb: float
    """memory the host may fill on it (total x gpu_memory_fraction)"""
    bf16: bool = False


@dataclass(frozen=True, slots=True)
class PlacementRequest:
    name: str
    memory_gb: float
    device: str = "auto"
    dtype: str = "auto"
    half_ok: bool = True
    bf16_ok: bool = True
    uses_torch: bool = True


@dataclass(frozen=True, slots=True)
class Placement:
    device: str
    """"cpu", "cuda:N", "mps", or "-" for a model without local weights"""
    dtype: str
    reason: str


def discover_gpus(devices: str | Sequence[str] = "auto", fraction: float = 0.9) -> list[Gpu]:
    """The GPUs the host may use (imports torch; none when ``devices == "cpu"``)."""
    if devices == "cpu":
        return []
    import torch

    if not torch.cuda.is_available():
        return []
    count = torch.cuda.device_count()
    if devices == "auto":
        indices = list(range(count))
    else:
        indices = []
        for name in devices:
            if name == "cuda":
                indices.append(0)
            elif name.startswith("cuda:"):
                indices.append(int(name.split(":", 1)[1]))
    gpus = []
    for index in dict.fromkeys(indices):
        if index >= count:
            continue
        props = torch.cuda.get_device_properties(index)
        gpus.append(Gpu(f"cuda:{index}", props.total_memory / 2**30 * fraction, props.major >= 8))
    return gpus


def choose_dtype(
    requested: str, device: str, *, half_ok: bool = True, bf16_ok: bool = True, bf16: bool = False
) -> tuple[str, str]:
    """``(dtype, reason)`` for a model on ``device``."""
    if device == "-":
        return "-", "no local weights"
    on_cpu = device == "cpu"
    if requested != "auto":
        if on_cpu and requested == "float16":
            return "float32", "float16 requested, but the CPU runs float32"
        return requested, "requested"
    if on_cpu:
        return "float32", "CPU"
    if not half_ok:
        return "float32", "family needs float32"
    if bf16 and bf16_ok:
        return "bfloat16", "GPU supports bfloat16"
    return "float16", "GPU half precision"


def plan_placement(models: Sequence[PlacementRequest], gpus: Sequence[Gpu]) -> dict[str, Placement]:
    """Where each model runs and in which dtype (see the module doc)."""
    free = {gpu.name: gpu.capacity_gb for gpu in gpus}
    by_name = {gpu.name: gpu for gpu in gpus}
    plan: dict[str, Placement] = {}

    def place(model: PlacementRequest, device: str, reason: str) -> None:
        bf16 = by_name[device].bf16 if device in by_name else False
        dtype, why = choose_dtype(
            model.dtype, device, half_ok=model.half_ok, bf16_ok=model.bf16_ok, bf16=bf16
        )
        plan[model.name] = Placement(device, dtype, f"{reason}; {why}")

    pinned = [m for m in models if m.uses_torch and m.device != "auto"]
    automatic = [m for m in models if m.uses_torch and m.device == "auto"]
    for model in models:
        if not model.uses_torch:
            plan[model.name] = Placement("-", "-", "no local weights")
    for model in pinned:
        device = "cuda:0" if model.device == "cuda" else model.device
        if device in ("cpu", "mps"):
            place(model, device, "pinned")
        elif device in free:
            free[device] -= model.memory_gb
            place(model, device, "pinned")
        else:
            place(model, "cpu", f"{model.device} is not available")
    for model in sorted(automatic, key=lambda m: (-m.memory_gb, m.name)):
        if not free:
            place(model, "cpu", "no GPU")
            continue
        device = max(free, key=lambda name: (free[name], -int(name.split(":")[1])))
        if free[device] >= model.memory_gb:
            free[device] -= model.memory_gb
            place(model, device, f"{model.memory_gb:g} GB fits")
        else:
            place(
                model,
                "cpu",
                f"needs {model.memory_gb:g} GB, largest free GPU share is {free[device]:.1f} GB",
            )
    return plan
