"""The builtins a sandboxed program sees, and the modules it may import.

RestrictedPython's ``safe_builtins`` lack most of what generated programs use (``list``, ``dict``,
``sorted``, ``zip``, ``enumerate``, ``min``, ``max``, ``sum``, ``any``, ``all``, ...) because its
iteration guards would be bypassed by builtins that iterate in C. Our policy has no iteration
guards (see policy.py), so these are provided as they are. What is withheld: anything that
reaches files, code, frames or namespaces (``open``, ``eval``, ``exec``, ``compile``,
``globals``, ``locals``, ``vars``, ``dir``, ``input``, ``breakpoint``, ``help``, ``exit``,
``memoryview``), ``id`` (addresses), and ``SystemExit``/``KeyboardInterrupt``/``GeneratorExit``.
Withheld functions are present as stand-ins that raise a :class:`PolicyError` naming the reason.
"""

from __future__ import annotations

import builtins as _py
import importlib
from collections.abc import Callable
from typing import Any

from vipexec.sandbox.language.guards import (
    WriteGuard,
    forbidden,
    getattr_builtin,
    guarded_hasattr,
    guarded_type,
    refuse,
)

SAFE_NAMES = (
    "None False True Ellipsis NotImplemented "
    "abs all any ascii bin bool bytearray bytes callable chr classmethod complex dict divmod "
    "enumerate filter float format frozenset hash hex int isinstance issubclass iter len list "
    "map max min next object oct ord pow property range repr reversed round set slice sorted "
    "staticmethod str sum super tuple zip"
).split()

SAFE_EXCEPTIONS = (
    "ArithmeticError AssertionError AttributeError BaseException BufferError EOFError "
    "Exception FloatingPointError ImportError IndexError KeyError LookupError MemoryError "
    "ModuleNotFoundError NameError NotImplementedError OSError OverflowError RecursionError "
    "ReferenceError RuntimeError StopIteration TimeoutError TypeError UnboundLocalError "
    "UnicodeError UnicodeDecodeError UnicodeEncodeError ValueError ZeroDivisionError "
    "Warning UserWarning DeprecationWarning RuntimeWarning"
).split()

FORBIDDEN = {
    "open": "no file access",
    "eval": "no dynamic code",
    "exec": "no dynamic code",
    "compile": "no dynamic code",
    "globals": "no namespace access",
    "locals": "no namespace access",
    "vars": "no namespace access",
    "dir": "no introspection",
    "id": "no object addresses",
    "input": "no interactive input",
    "breakpoint": "no debugger",
    "help": "no interactive help",
    "exit": "a program ends by returning",
    "quit": "a program ends by returning",
    "memoryview": "no raw memory access",
}

MODULE_EXPORTS: dict[str, tuple[str, ...]] = {
    "__future__": ("annotations",),  # the statement also binds the feature's name at run time
    "math": (),  # every public name
    "cmath": (),
    "itertools": (),
    "statistics": (
        "mean fmean geometric_mean harmonic_mean median median_low median_high median_grouped "
        "mode multimode pstdev pvariance stdev variance quantiles StatisticsError"
    ).split(),
    "collections": "Counter defaultdict OrderedDict deque namedtuple ChainMap".split(),
    "functools": "reduce partial cmp_to_key lru_cache cache total_ordering".split(),
    "re": (
        "compile search match fullmatch findall finditer split sub subn escape error "
        "IGNORECASE I MULTILINE M DOTALL S ASCII A VERBOSE X"
    ).split(),
    "json": "loads dumps JSONDecodeError".split(),
    "string": (
        "ascii_letters ascii_lowercase ascii_uppercase digits hexdigits octdigits punctuation "
        "printable whitespace capwords"
    ).split(),
    "typing": (
        "Any Callable Dict FrozenSet Iterable Iterator List Literal Mapping Optional Sequence "
        "Set Tuple Union cast TYPE_CHECKING"
    ).split(),
}
"""Modules a program may import, as read-only views of the listed names (all public names
where the list is empty). A view holds no module object, so nothing leads on to ``sys``/``os``."""


class ModuleView:
    """A read-only stand-in for an allowed module."""

    __slots__ = ("_name", "_values", "_withheld")

    def __init__(self, name: str, values: dict[str, Any], withheld: frozenset[str]):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_withheld", withheld)

    def __getattr__(self, attr: str) -> Any:
        try:
            return self._values[attr]
        except KeyError:
            if attr in self._withheld:
                raise refuse(
                    f"{self._name}.{attr} is not allowed (not in the sandbox's view)"
                ) from None
            raise AttributeError(f"module {self._name!r} has no attribute {attr!r}") from None

    def __setattr__(self, attr: str, value: Any) -> None:
        raise refuse(f"assignment to module {self._name!r} is not allowed")

    def __repr__(self) -> str:
        return f"<module {self._name!r} (sandbox view)>"

    @property
    def __name__(self) -> str:
        # (a program cannot read it: the policy refuses names starting with "_")
        return self._name


_VIEWS: dict[str, ModuleView] = {}


def module_view(name: str) -> ModuleView:
    view = _VIEWS.get(name)
    if view is None:
        module = importlib.import_module(name)
        public = [n for n in vars(module) if not n.startswith("_")]
        names = MODULE_EXPORTS[name] or public
        values = {n: getattr(module, n) for n in names if hasattr(module, n)}
        view = _VIEWS[name] = ModuleView(name, values, frozenset(public) - set(values))
        _REACHABLE.update((id(value), value) for value in values.values())
    return view


def is_reachable(value: Any) -> bool:
    """Whether a program already reaches ``value`` itself, through its builtins or an
    allowed module, so that handing it over unwrapped grants nothing new (a caller's
    ``{"List": list}`` then behaves as the builtin does: ``List[int]`` works)."""
    return _REACHABLE.get(id(value)) is value


def guarded_import(
    name: str,
    globals: Any = None,
    locals: Any = None,
    fromlist: Any = (),
    level: int = 0,
) -> ModuleView:
    if level != 0:
        raise refuse("relative import is not allowed")
    if name not in MODULE_EXPORTS:
        allowed = ", ".join(sorted(MODULE_EXPORTS))
        raise refuse(f"import of {name!r} is not allowed (available: {allowed})")
    return module_view(name)


def _shared_builtins() -> dict[str, Any]:
    table: dict[str, Any] = {name: getattr(_py, name) for name in SAFE_NAMES}
    table.update((name, getattr(_py, name)) for name in SAFE_EXCEPTIONS)
    table.update((name, forbidden(name, reason)) for name, reason in FORBIDDEN.items())
    table.update(
        {
            "__build_class__": _py.__build_class__,
            "__import__": guarded_import,
            "getattr": getattr_builtin,
            "hasattr": guarded_hasattr,
            "type": guarded_type,
        }
    )
    return table


_SHARED = _shared_builtins()
"""the entries that hold no per-run state, built once"""
_REACHABLE: dict[int, Any] = {id(value): value for value in _SHARED.values()}
"""by identity: the builtins and the values of every module view built so far"""


PER_RUN_NAMES = frozenset({"print", "setattr", "delattr"})
BUILTIN_NAMES = frozenset(_SHARED) | PER_RUN_NAMES
"""every name a program finds in the sandbox builtins"""


def build_builtins(print_function: Callable[..., None], write_guard: WriteGuard) -> dict:
    """A fresh builtins dict for one run (``print`` and the write guard are per run)."""
    table = dict(_SHARED)
    table["print"] = print_function
    table["setattr"] = write_guard.setattr
    table["delattr"] = write_guard.delattr
    return table


module_view("typing")  # its names are reachable as values a caller hands over (``List``)
