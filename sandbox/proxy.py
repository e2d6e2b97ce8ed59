"""Proxies: how a sandboxed program reaches objects the caller hands it.

:func:`expose` turns a host value into what the program sees:

- plain data (``None``, bools, numbers, strings, bytes) passes as it is;
- lists, tuples, sets and dicts are *copied* with their items exposed, so a program that mutates
  them never changes the caller's data;
- a class becomes a proxy class (calling it builds the real object and returns a proxy;
  ``isinstance`` works against it); a function becomes a proxy function;
- any other object becomes an instance of its class's proxy class, which offers the public
  methods and public attributes of the object and nothing else: no attribute writes, no
  underscore names, results exposed again, arguments unwrapped on the way in.

Public instance attributes holding plain data (a patch's ``left``, ``width``, ...) are copied
into the proxy when it is made and refreshed after every method call through it, so reading
them is a plain attribute load: ViperGPT programs read such attributes thousands of times per
run. (A change made to the object by other host code while the program runs shows up after
the program's next method call on it.) Other attributes are read through on each access.

Classes marked with :func:`mark_safe_api` (vipexec's own API classes, the test fakes) are the
exception: their instances and the classes themselves are handed over as they are, because
their authors guarantee that everything public on them is plain data, another safe API object,
or a method returning those, with no public mutator. Writes to them are still refused by the
write guard.

A proxy is only as safe as the public API it forwards: it keeps a program away from the
object's internals, not from what its public methods do. Untrusted code that must not reach
files or processes runs in a :class:`vipexec.Sandbox` worker, whose API objects are our own.
"""

from __future__ import annotations

import contextlib
import inspect
import types
from collections.abc import Callable
from typing import Any

from vipexec.sandbox.builtins import ModuleView, is_reachable
from vipexec.sandbox.guards import refuse
from vipexec.summarize import Limits, Summary, register, summarize

PLAIN = frozenset({type(None), bool, int, float, complex, str, bytes})

# Special methods a proxy forwards when the proxied class defines them itself.
_FORWARDED_SPECIALS = (
    "__len__ __iter__ __next__ __getitem__ __contains__ __bool__ __eq__ __ne__ __lt__ __le__ "
    "__gt__ __ge__ __hash__ __add__ __sub__ __mul__ __truediv__ __floordiv__ __mod__ __neg__ "
    "__abs__ __call__ __str__ __int__ __float__ __index__"
).split()


class Proxy:
    """Base of every generated proxy class; ``_vx_target`` holds the real object."""

    __slots__ = ("_vx_target",)

    def __setattr__(self, name: str, value: Any) -> None:
        raise refuse(f"cannot assign attributes of a {type(self).__name__} object")

    def __delattr__(self, name: str) -> None:
        raise refuse(f"cannot delete attributes of a {type(self).__name__} object")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} proxy>"


_SAFE_API: set[type] = set()


def mark_safe_api(*classes: type) -> None:
    """Declare classes whose public surface is safe to hand to programs without a proxy.

    The promise: no public attribute or method result leads to anything but plain data or
    instances of safe API classes (no models, files, modules, host containers), and no public
    method changes shared state. Subclasses are covered too.
    """
    for cls in classes:
        if not isinstance(cls, type):
            raise TypeError(f"mark_safe_api() takes classes, not {type(cls).__name__}")
        _SAFE_API.add(cls)
    _INSTANCE_KINDS.clear()
    _DEFINITIONS.clear()


def _is_safe_api(cls: type) -> bool:
    return any(base in _SAFE_API for base in cls.__mro__)


def expose(value: Any) -> Any:
    """What a sandboxed program receives for the host value ``value``."""
    kind = type(value)
    if kind in PLAIN or kind in _SAFE_KINDS:
        return value
    if is_reachable(value):  # the program's own builtins and module values, e.g. `list`
        return value
    if kind in _DEFINITION_KINDS:
        return _expose_definition(value)
    if kind is list:
        return [expose(item) for item in value]
    if kind in _INSTANCE_KINDS:  # seen before: an ordinary object to wrap
        return _wrap_instance(value)
    if isinstance(value, (Proxy, ModuleView)):
        return value
    if kind is tuple:
        return tuple(expose(item) for item in value)
    if kind is dict:
        return {expose(k): expose(v) for k, v in value.items()}
    if kind in (set, frozenset):
        return kind(expose(item) for item in value)
    if isinstance(value, type) or inspect.isroutine(value):
        return _expose_definition(value)
    if isinstance(value, BaseException):
        return value
    if _is_safe_api(kind):
        _SAFE_KINDS.add(kind)
        return value
    if len(_INSTANCE_KINDS) < 1024:
        _INSTANCE_KINDS.add(kind)
    return _wrap_instance(value)


def _expose_definition(value: Any) -> Any:
    """A class or function as a program sees it; decided once per object (a caller's
    namespace of API classes and helpers is exposed again for every run)."""
    try:
        return _DEFINITIONS[value]
    except (KeyError, TypeError):  # TypeError: unhashable
        pass
    if isinstance(value, type):
        if issubclass(value, Proxy) or _is_safe_api(value) or issubclass(value, BaseException):
            exposed = value  # exceptions as they are: programs must be able to catch them
        else:
            exposed = proxy_class(value)
    else:
        exposed = _proxy_function(value)
    if len(_DEFINITIONS) >= 1024:
        _DEFINITIONS.clear()
    with contextlib.suppress(TypeError):
        _DEFINITIONS[value] = exposed
    return exposed


_DEFINITIONS: dict[Any, Any] = {}
_DEFINITION_KINDS = frozenset(
    {type, types.FunctionType, types.BuiltinFunctionType, types.MethodType}
)
_INSTANCE_KINDS: set[type] = set()
"""types already known to be wrapped as plain instances (skips the checks above)"""
_SAFE_KINDS: set[type] = set()
"""types already known to be safe API classes"""


def unwrap(value: Any) -> Any:
    """The host value behind what a program passes back (proxies replaced by their targets)."""
    kind = type(value)
    if kind in PLAIN:
        return value
    if isinstance(value, Proxy):
        return object.__getattribute__(value, "_vx_target")
    if isinstance(value, type) and issubclass(value, Proxy):
        return value.__dict__.get("_vx_class", value)
    if kind is list:
        return [unwrap(item) for item in value]
    if kind is tuple:
        return tuple(unwrap(item) for item in value)
    if kind is dict:
        return {unwrap(k): unwrap(v) for k, v in value.items()}
    return value


def _unwrap_args(args: tuple) -> tuple:
    for arg in args:
        if type(arg) not in PLAIN:
            return tuple(unwrap(a) for a in args)
    return args


def _unwrap_kwargs(kwargs: dict) -> dict:
    for arg in kwargs.values():
        if type(arg) not in PLAIN:
            return {k: unwrap(v) for k, v in kwargs.items()}
    return kwargs


def _proxy_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return expose(fn(*_unwrap_args(args), **_unwrap_kwargs(kwargs)))

    call.__name__ = call.__qualname__ = getattr(fn, "__name__", "function")
    return call


def _wrap_instance(value: Any) -> Proxy:
    proxy = object.__new__(proxy_class(type(value)))
    object.__setattr__(proxy, "_vx_target", value)
    _snapshot(proxy, value)
    return proxy


def _snapshot(proxy: Proxy, target: Any) -> None:
    fields = getattr(target, "__dict__", None)
    if type(fields) is dict:
        plain = PLAIN
        object.__getattribute__(proxy, "__dict__").update(
            {
                name: value
                for name, value in fields.items()
                if type(value) in plain and name[:1] != "_"
            }
        )


_CLASSES: dict[type, type] = {}


def proxy_class(cls: type) -> type:
    """The proxy class standing for ``cls`` (built once per class)."""
    built = _CLASSES.get(cls)
    if built is None:
        built = _CLASSES[cls] = _build_proxy_class(cls)
    return built


def _build_proxy_class(cls: type) -> type:
    bases = tuple(proxy_class(base) for base in cls.__bases__ if base is not object) or (Proxy,)
    # No __slots__: the instance dict holds the snapshot of plain attributes.
    namespace: dict[str, Any] = {"_vx_class": cls, "__module__": "vipexec.proxy"}
    for name, attr in cls.__dict__.items():
        if name.startswith("_"):
            continue
        namespace[name] = _forward_member(cls, name, attr)
    for special in _FORWARDED_SPECIALS:
        if special in cls.__dict__:
            namespace[special] = _forward_special(special)
    if "__hash__" not in namespace and "__eq__" in namespace:
        namespace["__hash__"] = _forward_special("__hash__")
    namespace["__new__"] = _constructor(cls)
    namespace["__init__"] = _no_init
    namespace["__getattr__"] = _instance_attribute
    return type(cls.__name__, bases, namespace)


def _forward_member(cls: type, name: str, attr: Any) -> Any:
    if isinstance(attr, (staticmethod, classmethod)):
        bound = getattr(cls, name)
        return staticmethod(_proxy_function(bound))
    if inspect.isfunction(attr) or inspect.ismethoddescriptor(attr):

        def method(self: Proxy, *args: Any, **kwargs: Any) -> Any:
            target = object.__getattribute__(self, "_vx_target")
            result = getattr(target, name)(*_unwrap_args(args), **_unwrap_kwargs(kwargs))
            _snapshot(self, target)  # the call may have changed the object's attributes
            return expose(result)

        method.__name__ = method.__qualname__ = name
        return method
    return property(_attribute_getter(name))


def _attribute_getter(name: str) -> Callable[[Proxy], Any]:
    def get(self: Proxy) -> Any:
        return expose(getattr(object.__getattribute__(self, "_vx_target"), name))

    return get


def _forward_special(special: str) -> Callable[..., Any]:
    def forward(self: Proxy, *args: Any) -> Any:
        target = object.__getattribute__(self, "_vx_target")
        result = getattr(target, special)(*_unwrap_args(args))
        return result if special in ("__hash__", "__len__", "__index__") else expose(result)

    forward.__name__ = special
    return forward


def _constructor(cls: type) -> Callable[..., Any]:
    def new(proxy_cls: type, *args: Any, **kwargs: Any) -> Proxy:
        real = cls(*_unwrap_args(args), **_unwrap_kwargs(kwargs))
        return _wrap_instance(real)

    return new


def _no_init(self: Proxy, *args: Any, **kwargs: Any) -> None:
    """The real object was initialised by ``__new__``; nothing is left to do."""


def _instance_attribute(self: Proxy, name: str) -> Any:
    # Reached for attributes that are neither members of the class nor plain data in the
    # snapshot: read through, and expose what comes back.
    if name.startswith("_"):
        raise AttributeError(name)
    return expose(getattr(object.__getattribute__(self, "_vx_target"), name))


def _summarize_proxy(value: Proxy, limits: Limits) -> Summary:
    return summarize(object.__getattribute__(value, "_vx_target"), limits)


register("vipexec.sandbox.proxy.Proxy", _summarize_proxy)
