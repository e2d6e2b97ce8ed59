"""The model host: a thread-safe call server that batches, caches and places models.

:class:`ModelHost` is a :class:`~vipexec.modules.dispatch.CallServer`: ``serve(method, image_id,
box, args)`` answers one API call with a :class:`~vipexec.modules.dispatch.ServedCall` (result,
latency, cache hit, model id) and records nothing, so it works the same for in-process programs
(through ``ServerDispatcher``), for the sandbox pool's parent (one thread per worker calls it
concurrently) and behind :mod:`vipexec.modules.models.remote` in a server process.

What happens to one call:

1. the profile names the model for the method (``exists`` on a detector is ``len(find) > 0``,
   through ``find``'s cache entry; with the profile's ``exists_vqa`` each box is double-checked
   with ``simple_query``);
2. the cache is asked with ``(model identity, method, image content id, box, args)``;
   concurrent identical calls wait for the first one instead of computing again;
3. a miss goes into the model's queue; the model's worker thread takes up to ``max_batch``
   requests, waiting at most ``max_wait_ms`` after the first, and runs them as **one model
   invocation** (counted: :meth:`ModelHost.stats`);
4. models load on first use, on the device the placement plan gave them (declared memory,
   bf16/fp16 on GPUs, fp32 on the CPU). Before the first torch model loads, torch's thread
   count is set from ``[host] torch_threads`` (default: the cores this process may run on).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from vipexec.modules.backend import IMAGE_METHODS, METHODS, normalize_result
from vipexec.modules.dispatch import ServedCall, check_plain
from vipexec.modules.errors import BackendError, ModuleUnavailable
from vipexec.modules.methods import check_arguments
from vipexec.modules.models.base import ModelModule, Request, module_class
from vipexec.modules.models.cache import CallCache, call_key
from vipexec.modules.models.devices import (
    Placement,
    PlacementRequest,
    discover_gpus,
    plan_placement,
)
from vipexec.modules.models.errors import ConfigError, ModelLoadError, ModelNotFound
from vipexec.modules.models.profile import ModelsConfig, Profile

if TYPE_CHECKING:
    import numpy as np

    from vipexec.modules.images import ImageStore

__all__ = ["ModelHost", "ModuleStats"]


def torch_thread_count(configured: int | None) -> int:
    """The thread count torch gets: the configured one, else the cores this process may use."""
    if configured is not None:
        return configured
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform (macOS, Windows)
        return os.cpu_count() or 1


@dataclass
class ModuleStats:
    """Counters of one model: what reached it, how it was batched, what the cache saved."""

    invocations: int = 0
    """model invocations (one per batch)"""
    computed: int = 0
    """requests computed by the model (sum of batch sizes)"""
    cache_hits: int = 0
    """calls answered by the cache (or by an identical call in flight)"""
    cache_misses: int = 0
    errors: int = 0
    largest_batch: int = 0
    model_ms: float = 0.0
    """time spent inside the model, summed over invocations"""
    batch_sizes: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "invocations": self.invocations,
            "computed": self.computed,
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "errors": self.errors,
            "largest_batch": self.largest_batch,
            "model_ms": round(self.model_ms, 3),
        }


class _Batcher:
    """A queue and a worker thread for one model: requests in, batches out."""

    def __init__(self, name: str, run: Any, max_batch: int, max_wait_s: float) -> None:
        self.name = name
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._run = run
        self._items: deque[tuple[Request, Future, float]] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(
            target=self._loop, name=f"vipexec-model-{name}", daemon=True
        )
        self._thread.start()

    def submit(self, request: Request) -> Future:
        future: Future = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError(f"the model host is closed (model {self.name!r})")
            self._items.append((request, future, time.monotonic()))
            self._cond.notify()
        return future

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if not self._items:
                    return
                deadline = self._items[0][2] + self.max_wait_s
                while len(self._items) < self.max_batch and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                count = min(self.max_batch, len(self._items))
                batch = [self._items.popleft() for _ in range(count)]
            self._execute(batch)

    def _execute(self, batch: list[tuple[Request, Future, float]]) -> None:
        requests = [item[0] for item in batch]
        try:
            results = self._run(requests)
        except BaseException as exc:
            for _, future, _ in batch:
                future.set_exception(exc)
            return
        for (_, future, _), result in zip(batch, results):
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


class ModelHost:
    """Serves API calls from the models of one profile (see the module doc).

    ``cache``: ``True`` builds the cache the config's ``[host]`` asks for, ``False``/``None``
    turns caching off, or pass a :class:`CallCache`. ``batching=False`` runs every request as
    its own invocation (``max_batch = 1``). ``modules`` replaces configured models by ready
    module objects (tests, embedding).
    """

    def __init__(
        self,
        config: ModelsConfig,
        profile: str | None = None,
        *,
        store: ImageStore | None = None,
        cache: CallCache | bool | None = True,
        batching: bool = True,
        modules: Mapping[str, ModelModule] | None = None,
    ) -> None:
        if not isinstance(config, ModelsConfig):
            raise TypeError(f"ModelHost needs a ModelsConfig, got {type(config).__name__}")
        if store is None:
            from vipexec.modules.images import ImageStore

            store = ImageStore()
        self.config = config
        self.profile: Profile = config.profile(profile)
        self.store = store
        self.batching = bool(batching)
        self.backend_id = f"models:{self.profile.name}"
        self._owns_cache = cache is True
        if cache is True:
            cache = self._cache_from_config()
        elif cache is False:
            cache = None
        elif cache is not None and not isinstance(cache, CallCache):
            raise TypeError(f"cache must be a CallCache, True, False or None, got {cache!r}")
        self.cache: CallCache | None = cache
        context = config.context
        self.modules: dict[str, ModelModule] = {}
        for name in self._needed_models():
            given = (modules or {}).get(name)
            spec = config.models[name]
            self.modules[name] = given or module_class(spec.kind)(spec, context)
        self._stats = {name: ModuleStats() for name in self.modules}
        self._batchers: dict[str, _Batcher] = {}
        self._lock = threading.RLock()
        self._stats_lock = threading.Lock()
        self._plan: dict[str, Placement] | None = None
        self._scratch: OrderedDict[str, np.ndarray] = OrderedDict()
        self._closed = False
        self._torch_threads_set = False

    def __repr__(self) -> str:
        return f"<ModelHost profile={self.profile.name!r} models={sorted(self.modules)}>"

    def __enter__(self) -> ModelHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- set-up -------------------------------------------------------------------------------

    def _cache_from_config(self) -> CallCache | None:
        host = self.config.host
        if host.cache == "off":
            return None
        path = host.cache_path if host.cache == "sqlite" else None
        return CallCache(max_entries=host.cache_size, path=path)

    def _needed_models(self) -> list[str]:
        """Models the profile routes to, plus the models they reference."""
        needed: list[str] = []
        pending = list(dict.fromkeys(self.profile.routes.values()))
        while pending:
            name = pending.pop(0)
            if name in needed:
                continue
            needed.append(name)
            spec = self.config.models[name]
            for _, target in module_class(spec.kind).references(spec.options):
                pending.append(target)
        return needed

    def placement(self) -> dict[str, Placement]:
        """Where each model runs (planned once, on first use; imports torch if needed)."""
        with self._lock:
            if self._plan is None:
                requests = [
                    PlacementRequest(
                        name=name,
                        memory_gb=module.spec.memory_gb,
                        device=module.spec.device,
                        dtype=module.spec.dtype,
                        half_ok=module.half_precision,
                        bf16_ok=module.bf16,
                        uses_torch=module.uses_torch,
                    )
                    for name, module in self.modules.items()
                ]
                gpus = []
                host = self.config.host
                if any(r.uses_torch for r in requests) and host.devices != "cpu":
                    gpus = discover_gpus(host.devices, host.gpu_memory_fraction)
                self._plan = plan_placement(requests, gpus)
                for name, placed in self._plan.items():
                    module = self.modules[name]
                    if not module.loaded:
                        module.device, module.dtype = placed.device, placed.dtype
            return dict(self._plan)

    def load(self, methods: Iterable[str] | None = None) -> None:
        """Load the models of ``methods`` (default: every routed one) now."""
        names = (
            self.modules
            if methods is None
            else [self.profile.routes[m] for m in methods if m in self.profile.routes]
        )
        for name in dict.fromkeys(names):
            self._ensure_loaded(self.modules[name], "*")

    def _ensure_loaded(self, module: ModelModule, method: str) -> None:
        if module.loaded:
            return
        if module.uses_torch:
            self._set_torch_threads()
        placed = self.placement()[module.name]
        for dependency in module.dependencies():
            self._ensure_loaded(self.modules[dependency], method)
        try:
            module.load(placed.device, placed.dtype, self._resolve)
        except (ModelNotFound, ModelLoadError) as exc:
            raise exc.for_method(method) from exc.__cause__

    def _set_torch_threads(self) -> None:
        # Torch's default is one thread per core of the machine, not of this process's share
        # of it: on a busy or pinned machine the threads fight and a model runs several times
        # slower than on one thread.
        with self._lock:
            if self._torch_threads_set:
                return
            try:
                import torch
            except ImportError:
                return  # the model's own load reports the missing package
            torch.set_num_threads(torch_thread_count(self.config.host.torch_threads))
            self._torch_threads_set = True

    def _resolve(self, name: str) -> ModelModule:
        module = self.modules.get(name)
        if module is None:
            raise ConfigError(f"{self.config.source}: no model {name!r}")
        self._ensure_loaded(module, "*")
        return module

    # --- counters -----------------------------------------------------------------------------

    def stats(self) -> dict[str, dict[str, Any]]:
        """Counters per model (see :class:`ModuleStats`)."""
        with self._stats_lock:
            return {name: stats.to_dict() for name, stats in self._stats.items()}

    def invocations(self, model: str | None = None) -> int:
        """Model invocations (batches) of one model, or of all."""
        with self._stats_lock:
            if model is not None:
                return self._stats[model].invocations
            return sum(s.invocations for s in self._stats.values())

    def computed(self, model: str | None = None) -> int:
        """Requests computed by models (cache misses that reached a model)."""
        with self._stats_lock:
            if model is not None:
                return self._stats[model].computed
            return sum(s.computed for s in self._stats.values())

    def batch_sizes(self, model: str) -> list[int]:
        with self._stats_lock:
            return list(self._stats[model].batch_sizes)

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._stats = {name: ModuleStats() for name in self.modules}

    # --- serving ------------------------------------------------------------------------------

    def serve(
        self,
        method: str,
        image: str | None,
        box: Sequence[int] | None,
        args: dict[str, Any],
    ) -> ServedCall:
        """Answer one call; failures come back as data (``error``), never raised."""
        start = time.perf_counter()
        model_id = self._model_id(method)
        try:
            result, hit, model_id = self._answer(method, image, box, args)
        except Exception as exc:
            ms = (time.perf_counter() - start) * 1000.0
            return replace(ServedCall.failure(exc, ms, self.backend_id), model=model_id)
        ms = (time.perf_counter() - start) * 1000.0
        return ServedCall(result, ms, self.backend_id, cache_hit=hit, model=model_id)

    def answer(
        self,
        method: str,
        image: np.ndarray | None,
        box: Sequence[int] | None,
        args: dict[str, Any],
    ) -> Any:
        """Answer one call given pixels instead of an image id (exceptions propagate).

        ``best_image_match`` takes ``args["crops"]`` as ``[(pixels, box), ...]`` here.
        """
        from vipexec.modules.images import image_id

        image_key = None
        if image is not None:
            image_key = self._remember(image, image_id)
        if method == "best_image_match":
            crops = [[self._remember(p, image_id), [int(v) for v in b]] for p, b in args["crops"]]
            args = {**args, "crops": crops}
        return self._answer(method, image_key, box, args)[0]

    def _remember(self, pixels: np.ndarray, identify: Any) -> str:
        key = identify(pixels)
        with self._lock:
            self._scratch[key] = pixels
            self._scratch.move_to_end(key)
            while len(self._scratch) > 64:
                self._scratch.popitem(last=False)
        return key

    def _pixels(self, image: str) -> np.ndarray:
        with self._lock:
            pixels = self._scratch.get(image)
        return pixels if pixels is not None else self.store.pixels(image)

    def _model_id(self, method: str) -> str | None:
        name = self.profile.model_for(method)
        return None if name is None else self.modules[name].model_id

    def _module_for(self, method: str) -> ModelModule:
        if method not in METHODS:
            known = ", ".join(sorted(METHODS))
            raise BackendError(f"unknown API method {method!r}; known: {known}")
        name = self.profile.model_for(method)
        if name is None:
            raise ModuleUnavailable(
                method,
                self.backend_id,
                f"profile {self.profile.name!r} of {self.config.source} routes no model to "
                f"{method}()",
            )
        return self.modules[name]

    def _answer(
        self,
        method: str,
        image: str | None,
        box: Sequence[int] | None,
        args: dict[str, Any],
    ) -> tuple[Any, bool, str]:
        if self._closed:
            raise RuntimeError("the model host is closed")
        module = self._module_for(method)
        check_plain(args, f"{method}() arguments")
        check_arguments(method, args)  # again: a compromised worker skips the program-side check
        if method in IMAGE_METHODS:
            if image is None or box is None:
                raise BackendError(f"{method}() needs an image id and a box")
            box = tuple(int(v) for v in box)
        else:
            box = None
        if method == "exists" and "exists" not in module.methods:
            name = args["object_name"]
            boxes, hit = self._compute(module, "find", image, box, {"object_name": name})
            if not self.profile.exists_vqa:
                return len(boxes) > 0, hit, module.model_id
            vqa = self._module_for("simple_query")
            for found in boxes:
                reply, seen = self._compute(
                    vqa, "simple_query", image, tuple(found), {"question": f"Is this a {name}?"}
                )
                hit = hit and seen
                if "yes" in reply.lower():
                    return True, hit, module.model_id
            return False, hit, module.model_id
        result, hit = self._compute(module, method, image, box, args)
        return result, hit, module.model_id

    def _compute(
        self,
        module: ModelModule,
        method: str,
        image: str | None,
        box: tuple[int, ...] | None,
        args: dict[str, Any],
    ) -> tuple[Any, bool]:
        """One call through the cache and the model's queue: ``(result, cache_hit)``."""
        cache = self.cache
        if cache is None:
            return self._run_one(module, method, image, box, args), False
        self.placement()
        try:
            identity = module.identity()
        except (ModelNotFound, ModelLoadError) as exc:
            raise exc.for_method(method) from None
        key = call_key(identity, method, image, box, args)
        result, hit = cache.fetch(key, lambda: self._run_one(module, method, image, box, args))
        if hit:  # the cache holds JSON: normalising gives tuples back
            result = normalize_result(method, result, args, module.model_id)
        self._count(module.name, cache_hits=1 if hit else 0, cache_misses=0 if hit else 1)
        return result, hit

    def _run_one(
        self,
        module: ModelModule,
        method: str,
        image: str | None,
        box: tuple[int, ...] | None,
        args: dict[str, Any],
    ) -> Any:
        request = Request(method, dict(args), box=box, image_id=image)  # type: ignore[arg-type]
        if method in IMAGE_METHODS:
            request.image = self._pixels(image)  # type: ignore[arg-type]
        elif method == "best_image_match":
            request.crops = [
                (self._pixels(crop_image), tuple(int(v) for v in crop_box))  # type: ignore[misc]
                for crop_image, crop_box in args["crops"]
            ]
        future = self._batcher(module).submit(request)
        try:
            raw = future.result()
        except (ModelNotFound, ModelLoadError) as exc:
            self._count(module.name, errors=1)
            raise exc.for_method(method) from None
        except Exception:
            self._count(module.name, errors=1)
            raise
        return normalize_result(method, raw, args, module.model_id)

    def _batcher(self, module: ModelModule) -> _Batcher:
        with self._lock:
            batcher = self._batchers.get(module.name)
            if batcher is None:
                if self._closed:
                    raise RuntimeError("the model host is closed")
                host = self.config.host
                max_batch = module.spec.max_batch or host.max_batch
                if module.uses_torch and self.placement()[module.name].device == "cpu":
                    max_batch = min(max_batch, host.cpu_max_batch)
                wait = module.spec.max_wait_ms
                wait = host.max_wait_ms if wait is None else wait
                if not self.batching:
                    max_batch, wait = 1, 0.0
                batcher = _Batcher(
                    module.name, lambda requests: self._invoke(module, requests), max_batch,
                    wait / 1000.0,
                )  # fmt: skip
                self._batchers[module.name] = batcher
            return batcher

    def _invoke(self, module: ModelModule, requests: list[Request]) -> list[Any]:
        """One model invocation for a batch (runs in the model's worker thread)."""
        self._ensure_loaded(module, requests[0].method)
        start = time.perf_counter()
        results = module(requests)
        elapsed = (time.perf_counter() - start) * 1000.0
        if len(results) != len(requests):
            raise BackendError(
                f"model {module.name!r} returned {len(results)} results "
                f"for {len(requests)} requests"
            )
        with self._stats_lock:
            stats = self._stats[module.name]
            stats.invocations += 1
            stats.computed += len(requests)
            stats.largest_batch = max(stats.largest_batch, len(requests))
            stats.model_ms += elapsed
            if len(stats.batch_sizes) < 10_000:
                stats.batch_sizes.append(len(requests))
        return results

    def _count(self, name: str, **deltas: int) -> None:
        with self._stats_lock:
            stats = self._stats[name]
            for key, delta in deltas.items():
                setattr(stats, key, getattr(stats, key) + delta)

    # --- shutting down ------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the worker threads (and close the cache the host built)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            batchers = list(self._batchers.values())
        for batcher in batchers:
            batcher.close()
        if self._owns_cache and self.cache is not None:
            self.cache.close()
