"""Models config files: which models exist, how the host runs them, which answers which method.

A config (TOML, YAML or JSON; the same structure in each) has four parts::

    default_profile = "standard"      # the profile used when none is named
    offline = true                    # never download (default); false lets libraries fetch
    model_dirs = ["~/models"]         # searched for relative checkpoints (after the file's folder)

    [host]                            # batching, cache and devices (all optional)
    max_batch = 16
    max_wait_ms = 5.0
    cache = "memory"                  # "off" | "memory" | "sqlite"
    cache_path = "~/.cache/vipexec/calls.sqlite"
    devices = "auto"                  # "auto" | "cpu" | ["cuda:0", "cuda:1"]
    torch_threads = 2                 # default: the cores this process may run on

    [models.detector]                 # one table per model: kind + common keys + kind options
    kind = "yolo"
    checkpoint = "yolov8x-worldv2.pt"
    memory_gb = 1.0

    [profiles.standard]               # method -> model name
    find = "detector"
    exists = "detector"

Unknown keys anywhere are an error naming the file and the key path; so are references to
models that do not exist and methods a model cannot answer. Relative paths are relative to the
config file's folder, never to the working directory.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vipexec.modules.backend import METHODS
from vipexec.modules.models.base import Option, check_value, module_class, validate_options
from vipexec.modules.models.checkpoints import ModelContext, expand
from vipexec.modules.models.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "HostConfig",
    "ModelSpec",
    "ModelsConfig",
    "Profile",
    "default_config_path",
    "load_config",
    "parse_config",
]

CONFIG_ENV = "VIPEXEC_MODELS_CONFIG"
"""environment variable naming the config file used when none is given"""

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_DTYPES = ("auto", "float32", "float16", "bfloat16")


@dataclass(frozen=True, slots=True)
class HostConfig:
    """How the model host batches, caches and places models."""

    max_batch: int = 16
    """largest batch one model invocation gets"""
    max_wait_ms: float = 5.0
    """how long the first request of a batch waits for others"""
    cpu_max_batch: int = 8
    """batch cap for models placed on the CPU (large CPU batches thrash caches)"""
    cache: str = "memory"
    """"off", "memory" (LRU) or "sqlite" (LRU in front of a sqlite file at cache_path)"""
    cache_size: int = 100_000
    """entries kept in memory"""
    cache_path: Path | None = None
    devices: str | tuple[str, ...] = "auto"
    """"auto" (every visible GPU, else CPU), "cpu", or a list like ["cuda:0", "cuda:1"]"""
    gpu_memory_fraction: float = 0.9
    """share of each GPU's memory the declared estimates may fill"""
    torch_threads: int | None = None
    """torch's intra-op thread count; None: the CPU cores this process may run on"""


_HOST_OPTIONS: dict[str, Option] = {
    "max_batch": Option(16, int, "largest batch", minimum=1),
    "max_wait_ms": Option(5.0, float, "batch wait", minimum=0.0),
    "cpu_max_batch": Option(8, int, "batch cap on the CPU", minimum=1),
    "cache": Option("memory", str, "cache kind", choices=("off", "memory", "sqlite")),
    "cache_size": Option(100_000, int, "entries in memory", minimum=0),
    "cache_path": Option(None, str, "sqlite file", nullable=True),
    "devices": Option("auto", (str, list), "devices"),
    "gpu_memory_fraction": Option(0.9, float, "GPU share", minimum=0.01),
    "torch_threads": Option(None, int, "torch threads", minimum=1, nullable=True),
}


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One configured model: its kind, checkpoint, placement and kind-specific options."""

    name: str
    kind: str
    checkpoint: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    device: str = "auto"
    """"auto" (placed by memory estimate), "cpu", "cuda", "cuda:N" or "mps\""""
    dtype: str = "auto"
    """"auto" (bf16/fp16 on a GPU where the family supports it, fp32 on CPU) or a dtype name"""
    memory_gb: float = 1.0
    """declared GPU memory the model needs (weights + activations at max_batch)"""
    max_batch: int | None = None
    """overrides the host's max_batch for this model"""
    max_wait_ms: float | None = None
    description: str = ""


_COMMON_OPTIONS: dict[str, Option] = {
    "checkpoint": Option(None, str, "checkpoint path, file name, repo id or tag"),
    "device": Option("auto", str, "device"),
    "dtype": Option("auto", str, "dtype", choices=_DTYPES),
    "memory_gb": Option(1.0, float, "declared memory", minimum=0.0),
    "max_batch": Option(None, int, "batch size", minimum=1),
    "max_wait_ms": Option(None, float, "batch wait", minimum=0.0),
    "description": Option("", str, "free text"),
}


@dataclass(frozen=True, slots=True)
class Profile:
    """Which model answers which API method (methods not routed are unavailable)."""

    name: str
    routes: Mapping[str, str]
    exists_vqa: bool = False
    """exists() double-checks each detection with simple_query("Is this a <name>?")"""
    description: str = ""

    def model_for(self, method: str) -> str | None:
        """The model answering ``method``; ``exists`` defaults to the ``find`` model."""
        name = self.routes.get(method)
        if name is None and method == "exists":
            return self.routes.get("find")
        return name


@dataclass(frozen=True, slots=True)
class ModelsConfig:
    """A parsed, validated config."""

    source: str
    """the file it came from (or "<dict>")"""
    models: Mapping[str, ModelSpec]
    profiles: Mapping[str, Profile]
    host: HostConfig = HostConfig()
    default_profile: str | None = None
    offline: bool = True
    model_dirs: tuple[Path, ...] = ()
    base_dir: Path | None = None

    @property
    def context(self) -> ModelContext:
        return ModelContext(self.base_dir, self.model_dirs, self.offline)

    def profile(self, name: str | None = None) -> Profile:
        """The named profile, else the default one, else the only one."""
        if name is None:
            name = self.default_profile
            if name is None:
                if len(self.profiles) == 1:
                    return next(iter(self.profiles.values()))
                known = ", ".join(sorted(self.profiles)) or "none"
                raise ConfigError(
                    f"{self.source}: several profiles and no default_profile; "
                    f"pick one with --profile (profiles: {known})"
                )
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError(f"{self.source}: no profile {name!r} (profiles: {known})") from None

    def with_host(self, **changes: Any) -> ModelsConfig:
        """A copy with host settings changed (CLI flags); ``None`` values are ignored."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self
        raw = {
            key: (list(v) if isinstance(v, tuple) else str(v) if isinstance(v, Path) else v)
            for key, v in changes.items()
        }
        host = _parse_host({**_host_dict(self.host), **raw}, f"{self.source}: host")
        return replace(self, host=host)


# --- loading ----------------------------------------------------------------------------------


def default_config_path() -> Path:
    """The config used when none is given: ``$VIPEXEC_MODELS_CONFIG``, else
    ``~/.config/vipexec/models.{toml,yaml,yml,json}``, else the packaged ``standard.yaml``."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return expand(explicit)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    folder = (Path(xdg).expanduser() if xdg else Path.home() / ".config") / "vipexec"
    for suffix in (".toml", ".yaml", ".yml", ".json"):
        path = folder / f"models{suffix}"
        if path.is_file():
            return path
    return Path(__file__).with_name("standard.yaml")


def load_config(path: str | os.PathLike[str] | None = None) -> ModelsConfig:
    """Read and validate a config file (TOML, YAML or JSON, by suffix)."""
    path = default_config_path() if path is None else expand(os.fspath(path))
    if not path.exists():
        raise ConfigError(f"{path}: no such models config file")
    if not path.is_file():
        raise ConfigError(f"{path}: not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        data = _parse_toml(text, path)
    elif suffix in (".yaml", ".yml"):
        data = _parse_yaml(text, path)
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: invalid JSON ({exc})") from None
    else:
        raise ConfigError(f"{path}: unknown config format {suffix!r} (use .toml, .yaml or .json)")
    return parse_config(data, source=str(path), base_dir=path.parent)


def _parse_toml(text: str, path: Path) -> Any:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None


def _parse_yaml(text: str, path: Path) -> Any:
    try:
        import yaml
    except ModuleNotFoundError:
        raise ConfigError(f"{path}: reading YAML needs PyYAML (pip install pyyaml)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise ConfigError(f"{path}: invalid YAML ({message})") from None


# --- validation -------------------------------------------------------------------------------

_TOP_KEYS = ("default_profile", "offline", "model_dirs", "host", "models", "profiles")


def parse_config(
    data: Any, *, source: str = "<dict>", base_dir: str | os.PathLike[str] | None = None
) -> ModelsConfig:
    """Validate a config given as plain data (what a file holds)."""
    if not isinstance(data, Mapping):
        kind = type(data).__name__
        raise ConfigError(f"{source}: the config must be a table/mapping, got {kind}")
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(
                f"{source}: {key}: unknown key (top-level keys: {', '.join(_TOP_KEYS)})"
            )
    base = expand(os.fspath(base_dir)) if base_dir is not None else None
    offline = data.get("offline", True)
    if not isinstance(offline, bool):
        raise ConfigError(f"{source}: offline: expected true or false, got {offline!r}")
    model_dirs = _parse_dirs(data.get("model_dirs", []), base, source)
    host = _parse_host(data.get("host", {}), f"{source}: host", base)
    models_raw = data.get("models", {})
    if not isinstance(models_raw, Mapping):
        raise ConfigError(f"{source}: models: expected a table of models")
    models = {
        str(name): _parse_model(str(name), raw, f"{source}: models.{name}")
        for name, raw in models_raw.items()
    }
    _check_references(models, source)
    profiles_raw = data.get("profiles", {})
    if not isinstance(profiles_raw, Mapping):
        raise ConfigError(f"{source}: profiles: expected a table of profiles")
    profiles = {
        str(name): _parse_profile(str(name), raw, models, f"{source}: profiles.{name}")
        for name, raw in profiles_raw.items()
    }
    default = data.get("default_profile")
    if default is not None:
        if not isinstance(default, str):
            raise ConfigError(f"{source}: default_profile: expected a profile name")
        if default not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(
                f"{source}: default_profile: no profile {default!r} (profiles: {known})"
            )
    return ModelsConfig(
        source=source,
        models=models,
        profiles=profiles,
        host=host,
        default_profile=default,
        offline=offline,
        model_dirs=model_dirs,
        base_dir=base,
    )


def _parse_dirs(raw: Any, base: Path | None, source: str) -> tuple[Path, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{source}: model_dirs: expected a list of folder paths")
    folders = []
    for item in raw:
        path = expand(item)
        if not path.is_absolute():
            if base is None:
                raise ConfigError(
                    f"{source}: model_dirs: relative folder {item!r} needs a config file "
                    "(paths are never relative to the working directory)"
                )
            path = base / path
        folders.append(path)
    return tuple(folders)


def _host_dict(host: HostConfig) -> dict[str, Any]:
    return {
        "max_batch": host.max_batch,
        "max_wait_ms": host.max_wait_ms,
        "cpu_max_batch": host.cpu_max_batch,
        "cache": host.cache,
        "cache_size": host.cache_size,
        "cache_path": None if host.cache_path is None else str(host.cache_path),
        "devices": list(host.devices) if isinstance(host.devices, tuple) else host.devices,
        "gpu_memory_fraction": host.gpu_memory_fraction,
        "torch_threads": host.torch_threads,
    }


def _parse_host(raw: Any, where: str, base: Path | None = None) -> HostConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a table")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        option = _HOST_OPTIONS.get(key)
        if option is None:
            raise ConfigError(f"{where}.{key}: unknown key (host keys: {', '.join(_HOST_OPTIONS)})")
        values[key] = check_value(value, option, f"{where}.{key}")
    devices = values.get("devices", "auto")
    if isinstance(devices, str):
        if devices not in ("auto", "cpu") and not _DEVICE.match(devices):
            raise ConfigError(f"{where}.devices: expected 'auto', 'cpu' or device names")
        if devices not in ("auto", "cpu"):
            devices = (devices,)
    else:
        for item in devices:
            if not isinstance(item, str) or not _DEVICE.match(item) or item == "auto":
                raise ConfigError(f"{where}.devices: {item!r} is not a device name like 'cuda:0'")
        devices = tuple(devices)
    values["devices"] = devices
    if values.get("gpu_memory_fraction", 0.9) > 1.0:
        raise ConfigError(f"{where}.gpu_memory_fraction: must be at most 1.0")
    cache_path = values.get("cache_path")
    if cache_path is not None:
        path = expand(cache_path)
        if not path.is_absolute():
            if base is None:
                raise ConfigError(f"{where}.cache_path: a relative path needs a config file")
            path = base / path
        values["cache_path"] = path
    if values.get("cache") == "sqlite" and values.get("cache_path") is None:
        raise ConfigError(f"{where}.cache: 'sqlite' needs cache_path")
    return HostConfig(**values)


def _parse_model(name: str, raw: Any, where: str) -> ModelSpec:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a table with at least 'kind'")
    if "kind" not in raw:
        raise ConfigError(f"{where}: missing 'kind'")
    kind = raw["kind"]
    if not isinstance(kind, str):
        raise ConfigError(f"{where}.kind: expected a string")
    try:
        cls = module_class(kind)
    except ConfigError as exc:
        raise ConfigError(f"{where}.kind: {exc}") from None
    common: dict[str, Any] = {}
    specific: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "kind":
            continue
        if key in _COMMON_OPTIONS:
            common[key] = check_value(value, _COMMON_OPTIONS[key], f"{where}.{key}")
        elif key in cls.OPTIONS:
            specific[key] = value
        else:
            known = sorted({*_COMMON_OPTIONS, *cls.OPTIONS})
            raise ConfigError(
                f"{where}.{key}: unknown key for kind {kind!r} (known: {', '.join(known)})"
            )
    options = validate_options(cls, specific, where)
    device = common.get("device", "auto")
    if not _DEVICE.match(device):
        raise ConfigError(f"{where}.device: {device!r} is not 'auto', 'cpu', 'cuda', 'cuda:N'")
    if cls.needs_checkpoint and not common.get("checkpoint"):
        raise ConfigError(f"{where}: kind {kind!r} needs a 'checkpoint'")
    memory = common.get("memory_gb")
    return ModelSpec(
        name=name,
        kind=kind,
        checkpoint=common.get("checkpoint"),
        options=options,
        device=device,
        dtype=common.get("dtype", "auto"),
        memory_gb=cls.default_memory_gb if memory is None else memory,
        max_batch=common.get("max_batch"),
        max_wait_ms=common.get("max_wait_ms"),
        description=common.get("description", ""),
    )


def _check_references(models: Mapping[str, ModelSpec], source: str) -> None:
    for spec in models.values():
        cls = module_class(spec.kind)
        for key, target in cls.references(spec.options):
            where = f"{source}: models.{spec.name}.{key}"
            if target not in models:
                known = ", ".join(sorted(models)) or "none"
                raise ConfigError(f"{where}: no model {target!r} in this config (models: {known})")
            target_cls = module_class(models[target].kind)
            needed = cls.reference_needs(key)
            if needed and not callable(getattr(target_cls, needed, None)):
                raise ConfigError(
                    f"{where}: model {target!r} ({models[target].kind}) has no {needed}()"
                )


_PROFILE_KEYS = ("exists_vqa", "description")


def _parse_profile(name: str, raw: Any, models: Mapping[str, ModelSpec], where: str) -> Profile:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a table of method = model name")
    routes: dict[str, str] = {}
    exists_vqa = False
    description = ""
    for key, value in raw.items():
        if key == "exists_vqa":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}.exists_vqa: expected true or false")
            exists_vqa = value
            continue
        if key == "description":
            if not isinstance(value, str):
                raise ConfigError(f"{where}.description: expected a string")
            description = value
            continue
        if key not in METHODS:
            allowed = ", ".join([*sorted(METHODS), *_PROFILE_KEYS])
            raise ConfigError(f"{where}.{key}: unknown key (profile keys: {allowed})")
        if not isinstance(value, str):
            raise ConfigError(f"{where}.{key}: expected a model name")
        if value not in models:
            known = ", ".join(sorted(models)) or "none"
            raise ConfigError(f"{where}.{key}: no model {value!r} (models: {known})")
        cls = module_class(models[value].kind)
        if not answers(cls.methods, key):
            can = ", ".join(sorted(cls.methods)) or "nothing"
            raise ConfigError(
                f"{where}.{key}: model {value!r} (kind {models[value].kind!r}) cannot answer "
                f"{key}(); it answers: {can}"
            )
        routes[key] = value
    if exists_vqa and "simple_query" not in routes:
        raise ConfigError(f"{where}.exists_vqa: needs a model for simple_query in the profile")
    return Profile(name=name, routes=routes, exists_vqa=exists_vqa, description=description)


def answers(methods: frozenset[str], method: str) -> bool:
    """Whether a module with native ``methods`` can serve ``method`` (exists via find)."""
    return method in methods or (method == "exists" and "find" in methods)
