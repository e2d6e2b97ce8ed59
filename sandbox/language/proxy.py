"""Proxies: how a sandboxed program reaches objects the caller hands it.

:func:`expose` turns a host value into what the program sees:

- plain data (``None``, bools, numbers, strings, bytes) passes as it is;
- lists, tuples, sets and dicts are *copied* with their items exposed, so a program that mutates
  them never changes the caller's data;
- instances of *safe API classes* (:func:`mark_safe_api`: vipexec's own ``ImagePatch``,
  ``VideoSegment``, ``ImageRef``, ``VideoRef``, the test fakes) and those classes themselves are
  handed over as they are, because their authors guarantee that everything public on them is
  plain data, another safe API object, or a method returning those, with no public mutator.
  Writes to them are still refused by the write guard;
- any other class becomes a proxy class (calling it builds the real object and returns a proxy;
  ``isinstance`` works against it); a function becomes a proxy function;
- any other object becomes an instance of its class's proxy class, which offers the public
  methods and public attributes of the object and nothing else: no attribute writes, no
  underscore names, results exposed again, arguments unwrapped on the way in;
- an exception raised by the caller's code (a method, property, special method, constructor or
  function reached through a proxy) is handed over with everything it carries exposed, in
  place: ``args``, ``AttributeError.obj``/``name``, ``StopIteration.value``, ``OSError`` and
  ``ImportError`` fields, public attributes, grouped, nested and chained exceptions; so
  ``except ... as e`` never yields a caller's object. Safe API classes promise the same of
  their own exceptions.

Cost. A proxy class is generated once per class (cached by class identity, dropped when the
class is), with the class's methods as plain functions in its namespace. When a proxy is made,
the object's public plain-data attributes (a patch's ``left``, ``width``, ...) are copied onto
it as ordinary instance values, by a copier compiled per attribute layout, so every read is a
plain attribute load the interpreter specialises, as fast as reading the real object: ViperGPT
programs read such attributes thousands of times per run. No ``__getattr__`` fallback and no
``__setattr__`` sits on a proxy class (either would make every read or copy several times
slower); programs' writes are refused by the write guard. A public attribute that holds
anything but plain data gets a read-through descriptor on the proxy class, which exposes the
value on every access and shadows any older copy. A method or special-method call through a
proxy copies the attributes again, because the call may have changed the object (or removed or
retyped an attribute); the program itself cannot write to the object. (A change made by other
host code, or through another proxy of the same object, shows up after the program's next
method call on this proxy.)

A proxy is only as safe as the public API it forwards: it keeps a program away from the
object's internals, not from what its public methods do. Untrusted code that must not reach
files or processes runs in a :class:`vipexec.Sandbox` worker, whose API objects are our own.
"""

from __future__ import annotations

import builtins
import inspect
import keyword
import types
import weakref
from collections.abc import Callable
from typing import Any

from vipexec.core.summarize import register_stand_in
from vipexec.sandbox.language.builtins import ModuleView, is_reachable
from vipexec.sandbox.language.safe_api import is_safe_api, mark_safe_api, on_change

__all__ = ["PLAIN", "Proxy", "expose", "mark_safe_api", "proxy_class", "unwrap"]

PLAIN = frozenset({type(None), bool, int, float, complex, str, bytes})

# Special methods a proxy forwards when the proxied class defines them itself.
_FORWARDED_SPECIALS = (
    "__len__ __iter__ __next__ __getitem__ __contains__ __bool__ __eq__ __ne__ __lt__ __le__ "
    "__gt__ __ge__ __hash__ __add__ __sub__ __mul__ __truediv__ __floordiv__ __mod__ __neg__ "
    "__abs__ __call__ __str__ __int__ __float__ __index__"
).split()

_MAX_FIELDS = 1024
"""read-through attribute names one proxy class gets; past it, further names holding other
than plain data are not offered (objects that invent attribute names cannot grow a proxy
class without bound)"""


class Proxy:
    """Base of every generated proxy class; ``_vx_target`` holds the real object.

    Programs cannot assign or delete attributes of proxies: every such write goes through the
    write guard, which refuses all but the program's own objects. (No ``__setattr__`` here:
    it would make copying plain attributes onto a new proxy several times slower.)
    """

    __slots__ = ("_vx_target",)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} proxy>"


_target_of = Proxy._vx_target.__get__
_set_target = Proxy._vx_target.__set__
_new_object = object.__new__
_instance_dict = object.__getattribute__


# --- decisions per class, keyed by identity --------------------------------------------------


class _ClassCache:
    """Class -> value, by the class's identity; an entry goes when its class is collected.

    Values must not refer to their class strongly (a proxy class holds a weak reference), or
    the class would live as long as the cache. Bounded anyway: emptied when full.
    """

    def __init__(self, limit: int) -> None:
        self._entries: dict[int, tuple[weakref.ref, Any]] = {}
        self._limit = limit

    def get(self, cls: type) -> Any:
        entry = self._entries.get(id(cls))
        if entry is not None and entry[0]() is cls:
            return entry[1]
        return None

    def put(self, cls: type, value: Any) -> None:
        entries = self._entries
        if len(entries) >= self._limit:
            entries.clear()
        key = id(cls)

        def drop(ref: weakref.ref) -> None:
            if entries.get(key, (None,))[0] is ref:
                del entries[key]

        entries[key] = (weakref.ref(cls, drop), value)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_AS_IS = "as is"
_PROXY_CLASSES = _ClassCache(4096)
"""real class -> its proxy class"""
_KINDS = _ClassCache(4096)
"""type of a value -> _AS_IS or the proxy class its instances are wrapped in"""
_KIND_ENTRIES = _KINDS._entries  # read directly by expose(), the hottest function here
_DEFINITIONS = _ClassCache(4096)
"""class given as a value -> _AS_IS or its proxy class"""


def _forget_decisions() -> None:
    _KINDS.clear()
    _DEFINITIONS.clear()


on_change(_forget_decisions)


# --- exposing and unwrapping ------------------------------------------------------------------


def expose(value: Any) -> Any:
    """What a sandboxed program receives for the host value ``value``."""
    kind = type(value)
    if kind in PLAIN:
        return value
    if kind is list:  # before the cache: API calls return lists of objects
        if _all_as_is(value):  # e.g. patches of a safe API: one copy at C speed
            return value.copy()
        return [expose(item) for item in value]
    entry = _KIND_ENTRIES.get(id(kind))
    if entry is not None and entry[0]() is kind:  # an instance of a class seen before
        cls = entry[1]
        if cls is _AS_IS:
            return value
        proxy = _new_object(cls)
        quick = cls._vx_quick
        if quick:  # the copier for this object's layout, called without detours
            fields = _instance_dict(value, "__dict__")
            filler = quick.get(len(fields))
            if filler is not None:
                try:
                    filler(proxy, value, fields)
                    return proxy
                except (KeyError, AttributeError):
                    pass  # another layout, or a name now read through: the long way
        _set_target(proxy, value)
        _copy_plain_fields(cls, proxy, value)
        return proxy
    if is_reachable(value):  # the program's own builtins and module values, e.g. `list`
        return value
    if kind is tuple:
        return tuple(expose(item) for item in value)
    if kind is dict:
        return {expose(k): expose(v) for k, v in value.items()}
    if kind in (set, frozenset):
        return kind(expose(item) for item in value)
    if isinstance(value, BaseException):
        return _expose_exception(value, set())
    if isinstance(value, type):
        return _expose_class(value)
    if inspect.isroutine(value):
        return _proxy_function(value)
    if isinstance(value, (Proxy, ModuleView)) or is_safe_api(kind):
        _KINDS.put(kind, _AS_IS)
        return value
    _KINDS.put(kind, proxy_class(kind))
    return expose(value)


def _all_as_is(items: list) -> bool:
    """Whether every item is plain data or of a class already found to pass as it is."""
    for kind in set(map(type, items)):
        if kind not in PLAIN:
            entry = _KIND_ENTRIES.get(id(kind))
            if entry is None or entry[1] is not _AS_IS or entry[0]() is not kind:
                return False
    return True


def _expose_class(cls: type) -> type:
    exposed = _DEFINITIONS.get(cls)
    if exposed is None:
        if issubclass(cls, Proxy) or is_safe_api(cls) or issubclass(cls, BaseException):
            exposed = _AS_IS  # exceptions as they are: programs must be able to catch them
        else:
            exposed = proxy_class(cls)
        _DEFINITIONS.put(cls, exposed)
    return cls if exposed is _AS_IS else exposed


def unwrap(value: Any) -> Any:
    """The host value behind what a program passes back (proxies replaced by their targets)."""
    kind = type(value)
    if kind in PLAIN:
        return value
    if isinstance(value, Proxy):
        return _target_of(value)
    if isinstance(value, type) and issubclass(value, Proxy):
        ref = value.__dict__.get("_vx_class")
        real = ref() if ref is not None else None
        return value if real is None else real
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


# --- exceptions from the caller's code --------------------------------------------------------


def _builtin_exception_fields(kind: type) -> list[str]:
    """Public attributes the interpreter keeps outside ``args`` and ``__dict__`` on the builtin
    classes of ``kind`` (``AttributeError.obj``, ``StopIteration.value``, ``OSError.filename``,
    ``SyntaxError.text``, ...): set by whoever raised the exception, so anything can be in them.
    """
    fields = []
    for base in type.__getattribute__(kind, "__mro__"):
        # A group's read-only message is a str; its exceptions are exposed one by one.
        if base.__module__ == "builtins" and base is not builtins.BaseExceptionGroup:
            fields += [
                name
                for name, attr in base.__dict__.items()
                if name[:1] != "_"
                and name != "args"
                and isinstance(attr, (types.MemberDescriptorType, types.GetSetDescriptorType))
            ]
    return fields


def _expose_exception(exc: BaseException, seen: set[int]) -> BaseException:
    """``exc`` with everything a program can read on it exposed, changed in place.

    The exception keeps its class (programs catch it by class). ``__context__``, ``__cause__``,
    ``__notes__`` and ``__traceback__`` are underscore names no program can read; the chained
    exceptions are exposed too, in case one is re-raised into the program later.
    """
    if id(exc) in seen:
        return exc
    seen.add(id(exc))
    exc.args = tuple(_expose_item(item, seen) for item in exc.args)
    for field in _builtin_exception_fields(type(exc)):
        value = getattr(exc, field, None)
        if type(value) not in PLAIN:
            setattr(exc, field, _expose_item(value, seen))
    state = _instance_dict(exc, "__dict__")
    for name, value in list(state.items()):
        if type(value) not in PLAIN and not name.startswith("_"):
            state[name] = _expose_item(value, seen)
    if isinstance(exc, builtins.BaseExceptionGroup):
        for inner in exc.exceptions:
            _expose_exception(inner, seen)
    for chained in (exc.__context__, exc.__cause__):
        if chained is not None:
            _expose_exception(chained, seen)
    return exc


def _expose_item(value: Any, seen: set[int]) -> Any:
    if isinstance(value, BaseException):
        return _expose_exception(value, seen)
    return expose(value)


def _host_error(exc: BaseException) -> None:
    """Make an exception the caller's code raised fit to reach the program (in place)."""
    try:
        _expose_exception(exc, set())
    except Exception:  # an exception class whose fields refuse to change
        raise RuntimeError(
            f"{type.__getattribute__(type(exc), '__name__')} raised by the caller's code "
            "could not be handed over"
        ) from None


# --- proxy functions and classes --------------------------------------------------------------


def _proxy_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*_unwrap_args(args), **_unwrap_kwargs(kwargs))
        except BaseException as exc:
            _host_error(exc)
            raise
        return expose(result)

    call.__name__ = call.__qualname__ = getattr(fn, "__name__", "function")
    return call


def proxy_class(cls: type) -> type:
    """The proxy class standing for ``cls`` (built once per class)."""
    built = _PROXY_CLASSES.get(cls)
    if built is None:
        built = _build_proxy_class(cls)
        _PROXY_CLASSES.put(cls, built)
    return built


def _build_proxy_class(cls: type) -> type:
    bases = tuple(proxy_class(base) for base in cls.__bases__ if base is not object) or (Proxy,)
    # No __slots__: the instance dict holds the copies of plain attribute values.
    reference = weakref.ref(cls)  # a strong one would keep cls alive as long as the cache
    namespace: dict[str, Any] = {"_vx_class": reference, "__module__": "vipexec.proxy"}
    slots: list[str] = []
    for name, attr in cls.__dict__.items():
        if name.startswith("_"):
            continue
        if isinstance(attr, types.MemberDescriptorType):
            slots.append(name)  # copied like an attribute in __dict__
        elif isinstance(attr, (staticmethod, classmethod)):
            namespace[name] = staticmethod(_class_function(reference, name))
        elif inspect.isfunction(attr) or inspect.ismethoddescriptor(attr):
            namespace[name] = _method(name)
        else:
            namespace[name] = _ClassAttribute(reference, name)
    for special in _FORWARDED_SPECIALS:
        if special in cls.__dict__:
            namespace[special] = _forward_special(special)
    if "__hash__" not in namespace and "__eq__" in namespace:
        namespace["__hash__"] = _forward_special("__hash__")
    namespace["__new__"] = _constructor(reference)
    namespace["__init__"] = _no_init
    inherited = [getattr(base, "_vx_slots", ()) for base in bases]
    namespace["_vx_slots"] = tuple(dict.fromkeys([*slots, *(n for s in inherited for n in s)]))
    namespace["_vx_copied"] = set()  # names ever copied onto proxies of this class
    has_dict = any("__dict__" in base.__dict__ for base in cls.__mro__)
    # number of keys in an object's __dict__ -> its copying function (_filler_for)
    # size of an object's __dict__ -> copiers for its layouts (_filler_for), and the latest
    # one, which expose() tries first (not for classes with slots to copy too)
    namespace["_vx_fillers"] = {} if has_dict else None
    namespace["_vx_quick"] = {} if has_dict and not namespace["_vx_slots"] else None
    namespace["_vx_class_names"] = frozenset(
        name for base in cls.__mro__ for name in base.__dict__ if not name.startswith("_")
    )
    return type(cls.__name__, bases, namespace)


def _copy_plain_fields(cls: Any, proxy: Proxy, target: Any) -> None:
    """Copy the target's public plain-data attributes onto the proxy.

    Reading them is then a plain attribute load the interpreter specialises, as fast as
    reading the real object. (Measured on CPython 3.11: a class-level descriptor or a
    ``__getattr__`` on the proxy class, or a proxy whose ``__dict__`` was materialised, makes
    every read cost 2-3x more.) A public attribute holding anything else gets a read-through
    descriptor on the proxy class instead. The copying itself is a function generated per
    attribute layout (a straight run of stores, 4x faster than a loop of ``setattr``).
    """
    fillers = cls._vx_fillers
    if fillers is not None:
        fields = _instance_dict(target, "__dict__")
        if type(fields) is dict:
            # A copier reads every key of its layout: one that runs without a KeyError on a
            # __dict__ of the same size has found the same keys.
            for filler in fillers.get(len(fields), ()):
                try:
                    filler(proxy, target, fields)
                    break
                except KeyError:
                    continue
                except AttributeError:  # a base proxy class started reading a name through
                    _forget_copiers(cls)
                    _fill_slowly(proxy, target, fields)
                    break
            else:
                _filler_for(cls, fields)(proxy, target, fields)
    for name in cls._vx_slots:
        value = getattr(target, name, _UNSET)
        if type(value) in PLAIN:
            if not _reads_through(cls, name):
                _store(proxy, name, value)
                cls._vx_copied.add(name)
        elif value is not _UNSET:
            _read_through_field(cls, name)


_UNSET = object()
_store = object.__setattr__
_forget = object.__delattr__


_LAYOUTS_PER_SIZE = 4
"""copiers kept per size of ``__dict__``: objects of one class rarely have more layouts, and
past it the slow copy is used rather than compiling a copier for every object"""


def _filler_for(cls: Any, fields: dict) -> Callable[[Proxy, Any, dict], None]:
    """The copying function for objects whose ``__dict__`` has exactly these keys."""
    same_size = cls._vx_fillers.setdefault(len(fields), [])
    if (
        len(same_size) >= _LAYOUTS_PER_SIZE
        or len(fields) > 256
        or not all(
            type(name) is str and name.isidentifier() and not keyword.iskeyword(name)
            for name in fields
        )
    ):
        return _fill_slowly
    names = [name for name in fields if name[:1] != "_" and name not in cls._vx_class_names]
    lines = ["def fill(proxy, target, fields):", "    proxy._vx_target = target"]
    scope = {"PLAIN": PLAIN, "read_through": _read_through_field, "cls": cls}
    for name in fields:
        if name not in names or _reads_through(cls, name):
            lines.append(f"    fields[{name!r}]")  # not copied (private, or read through)
            continue
        # The type seen now is checked first: an identity test is cheaper than set lookup.
        seen = f"seen_{len(lines)}"
        scope[seen] = type(fields[name]) if type(fields[name]) in PLAIN else None
        lines += [
            f"    value = fields[{name!r}]",
            f"    if type(value) is {seen} or type(value) in PLAIN: proxy.{name} = value",
            f"    else: read_through(cls, {name!r})",
        ]
    lines.append("    return None")
    exec(compile("\n".join(lines), f"<proxy copier of {cls.__name__}>", "exec"), scope)
    filler = scope["fill"]
    cls._vx_copied.update(names)
    same_size.append(filler)
    if cls._vx_quick is not None:
        cls._vx_quick[len(fields)] = filler
    return filler


def _forget_copiers(cls: Any) -> None:
    if cls._vx_fillers:
        cls._vx_fillers.clear()
    if cls._vx_quick:
        cls._vx_quick.clear()


def _reads_through(cls: type, name: str) -> bool:
    return any(type(base.__dict__.get(name)) is _Field for base in cls.__mro__)


def _fill_slowly(proxy: Proxy, target: Any, fields: dict) -> None:
    cls = type(proxy)
    _set_target(proxy, target)
    for name, value in fields.items():
        if type(name) is not str or name[:1] == "_" or name in cls._vx_class_names:
            continue
        if type(value) not in PLAIN:
            _read_through_field(cls, name)
        elif not _reads_through(cls, name):
            _store(proxy, name, value)
            cls._vx_copied.add(name)


def _read_through_field(cls: Any, name: str) -> None:
    if name in cls.__dict__:
        return
    if sum(type(attr) is _Field for attr in cls.__dict__.values()) < _MAX_FIELDS:
        type.__setattr__(cls, name, _Field(name))
        _forget_copiers(cls)  # they copy this name, which a copy must no longer shadow


def _method(name: str) -> Callable[..., Any]:
    def method(self: Proxy, *args: Any, **kwargs: Any) -> Any:
        target = _target_of(self)
        try:
            result = getattr(target, name)(*_unwrap_args(args), **_unwrap_kwargs(kwargs))
        except BaseException as exc:
            _refresh(self, target)
            _host_error(exc)
            raise
        _refresh(self, target)
        return expose(result)

    method.__name__ = method.__qualname__ = name
    return method


def _refresh(proxy: Proxy, target: Any) -> None:
    # The call may have changed the object's attributes: copy them again. With the same keys,
    # the copier overwrites every copy (a value no longer plain data gets a read-through
    # descriptor, which shadows its old copy); otherwise a name the object lost must not keep
    # its old copy.
    cls = type(proxy)
    quick = cls._vx_quick
    if quick:
        fields = _instance_dict(target, "__dict__")
        filler = quick.get(len(fields))
        if filler is not None:
            try:
                filler(proxy, target, fields)
                return
            except (KeyError, AttributeError):
                pass
    for name in cls._vx_copied:
        try:
            _forget(proxy, name)
        except AttributeError:
            pass
    _copy_plain_fields(type(proxy), proxy, target)


def _class_function(reference: weakref.ref, name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = getattr(reference(), name)(*_unwrap_args(args), **_unwrap_kwargs(kwargs))
        except BaseException as exc:
            _host_error(exc)
            raise
        return expose(result)

    call.__name__ = call.__qualname__ = name
    return call


class _Field:
    """A public instance attribute that held something other than plain data: read through
    and exposed on every access (a data descriptor, so no copy in the proxy's dict shadows it).
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __get__(self, proxy: Any, owner: Any = None) -> Any:
        if proxy is None:
            raise AttributeError(f"type object {owner.__name__!r} has no attribute {self._name!r}")
        return _read_exposed(_target_of(proxy), self._name)

    def __set__(self, proxy: Any, value: Any) -> None:
        # Only our own copying could get here (programs' writes stop at the write guard).
        raise AttributeError(f"{self._name} is read through, never copied")


class _ClassAttribute:
    """A class-level attribute that is not a method (a property, a constant): read through
    and exposed on every access, on an instance or on the proxy class."""

    __slots__ = ("_name", "_reference")

    def __init__(self, reference: weakref.ref, name: str) -> None:
        self._reference = reference
        self._name = name

    def __get__(self, proxy: Any, owner: Any = None) -> Any:
        source = self._reference() if proxy is None else _target_of(proxy)
        return _read_exposed(source, self._name)


def _read_exposed(source: Any, name: str) -> Any:
    try:
        value = getattr(source, name)
    except BaseException as exc:
        _host_error(exc)
        raise
    return expose(value)


def _forward_special(special: str) -> Callable[..., Any]:
    keep_result = special in ("__hash__", "__len__", "__index__")

    def forward(self: Proxy, *args: Any) -> Any:
        target = _target_of(self)
        try:
            result = getattr(target, special)(*_unwrap_args(args))
        except BaseException as exc:
            _refresh(self, target)
            _host_error(exc)
            raise
        _refresh(self, target)  # e.g. __next__ and __call__ change state
        return result if keep_result else expose(result)

    forward.__name__ = special
    return forward


def _constructor(reference: weakref.ref) -> Callable[..., Any]:
    def new(proxy_cls: type, *args: Any, **kwargs: Any) -> Proxy:
        try:
            real = reference()(*_unwrap_args(args), **_unwrap_kwargs(kwargs))
        except BaseException as exc:
            _host_error(exc)
            raise
        return expose(real)

    return new


def _no_init(self: Proxy, *args: Any, **kwargs: Any) -> None:
    """The real object was initialised by ``__new__``; nothing is left to do."""


register_stand_in("vipexec.sandbox.language.proxy.Proxy", _target_of)
