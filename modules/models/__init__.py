"""vipexec.modules.models: real vision/language models behind a batching, caching model host.

- :class:`ModelHost` (``host.py``): the call server (batching per model, cache, placement);
- :func:`load_config` / :class:`ModelsConfig` (``profile.py``): TOML/YAML/JSON configs whose
  profiles say which model answers which API method;
- one module per model family: ``yolo``, ``owl``, ``clip`` (open_clip), ``hf_clip``, ``vqa``,
  ``depth``, ``llm_http``, ``llm_local``, plus ``backend`` (a registered Backend as a model);
- :class:`ProfileBackend` (``backend.py``): a profile as an ordinary ``Backend``
  (``create_backend("profile", config=..., profile=...)``);
- :func:`build_call_server` and :func:`models_command` (``cli.py``) for the CLI;
- ``remote.py``: the host in a server process, reached by several sandbox pools.

Importing this package loads nothing heavy: torch, ultralytics, open_clip and transformers are
imported when a model loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vipexec.core.lazy import lazy_exports

_EXPORTS = {
    "ModelHost": "vipexec.modules.models.host",
    "ModuleStats": "vipexec.modules.models.host",
    "ModelsConfig": "vipexec.modules.models.profile",
    "ModelSpec": "vipexec.modules.models.profile",
    "Profile": "vipexec.modules.models.profile",
    "HostConfig": "vipexec.modules.models.profile",
    "load_config": "vipexec.modules.models.profile",
    "parse_config": "vipexec.modules.models.profile",
    "CallCache": "vipexec.modules.models.cache",
    "ModelModule": "vipexec.modules.models.base",
    "Request": "vipexec.modules.models.base",
    "register_model_kind": "vipexec.modules.models.base",
    "model_kinds": "vipexec.modules.models.base",
    "ProfileBackend": "vipexec.modules.models.backend",
    "build_call_server": "vipexec.modules.models.cli",
    "models_command": "vipexec.modules.models.cli",
    "ConfigError": "vipexec.modules.models.errors",
    "ModelNotFound": "vipexec.modules.models.errors",
    "ModelLoadError": "vipexec.modules.models.errors",
    "ServerUnreachable": "vipexec.modules.models.errors",
    "HostServer": "vipexec.modules.models.remote",
    "RemoteHost": "vipexec.modules.models.remote",
}

__all__ = [
    "CallCache",
    "ConfigError",
    "HostConfig",
    "HostServer",
    "ModelHost",
    "ModelLoadError",
    "ModelModule",
    "ModelNotFound",
    "ModelSpec",
    "ModelsConfig",
    "ModuleStats",
    "Profile",
    "ProfileBackend",
    "RemoteHost",
    "Request",
    "ServerUnreachable",
    "build_call_server",
    "load_config",
    "model_kinds",
    "models_command",
    "parse_config",
    "register_model_kind",
]

if TYPE_CHECKING:  # pragma: no cover
    from vipexec.modules.models.backend import ProfileBackend
    from vipexec.modules.models.base import (
        ModelModule,
        Request,
        model_kinds,
        register_model_kind,
    )
    from vipexec.modules.models.cache import CallCache
    from vipexec.modules.models.cli import build_call_server, models_command
    from vipexec.modules.models.errors import (
        ConfigError,
        ModelLoadError,
        ModelNotFound,
        ServerUnreachable,
    )
    from vipexec.modules.models.host import ModelHost, ModuleStats
    from vipexec.modules.models.profile import (
        HostConfig,
        ModelsConfig,
        ModelSpec,
        Profile,
        load_config,
        parse_config,
    )
    from vipexec.modules.models.remote import HostServer, RemoteHost


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
