"""Runtime guards the policy compiles calls to, and the violation bookkeeping they share.

Every refusal goes through :func:`refuse`, which words it with the program line that asked
(:func:`vipexec.sandbox.language.policy.refusal`), files the violation with the active run (so a
program that catches the exception is still reported, with its line) and returns the
:class:`PolicyError`.
"""

from __future__ import annotations

import abc
import string
import sys
import types
from collections.abc import Callable
from typing import Any

from vipexec.core.errors import PolicyError
from vipexec.core.program import PROGRAM_FILE_PREFIX
from vipexec.core.tracer import active_recorder
from vipexec.sandbox.language.policy import FORMATTER_METHODS, attribute_name_problem, refusal

_MISSING = object()
_FORMATTER = string.Formatter()


def refuse(what: str) -> PolicyError:
    """Record a policy violation (``what`` names the construct: "X is not allowed") with the
    active run and return the exception to raise."""
    line = _program_line()
    message = refusal(what, line)
    recorder = active_recorder()
    if recorder is not None:
        recorder.note_violation(message, line)
    return PolicyError(message)


def _program_line() -> int | None:
    """The line the innermost frame of a program is at (the guard was called from it, or from
    code it called), or None outside a program."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(PROGRAM_FILE_PREFIX):
            return frame.f_lineno
        frame = frame.f_back
    return None


def guarded_getattr(obj: Any, name: Any, default: Any = _MISSING) -> Any:
    """``getattr`` for programs: RestrictedPython's ``safer_getattr_raise`` rules.

    Used for the type-dependent names the policy keeps guarded and as the ``getattr`` builtin.
    A missing attribute raises ``AttributeError`` (or returns ``default``), never ``None``.
    """
    if type(name) is not str:
        raise _name_type_error(name)
    if name == "__name__":
        return _class_name(obj)
    problem = attribute_name_problem(name)
    if problem:
        raise refuse(problem)
    if name in ("format", "format_map"):
        checked = _checked_str_format(obj, name)
        if checked is not None:
            return checked
    if obj is string and name == "Formatter":
        raise refuse("string.Formatter is not allowed")
    if name in FORMATTER_METHODS and (
        isinstance(obj, string.Formatter)
        or (isinstance(obj, type) and issubclass(obj, string.Formatter))
    ):
        raise refuse(f"string.Formatter.{name}() is not allowed")
    value = getattr(obj, name) if default is _MISSING else getattr(obj, name, default)
    if name == "register" and getattr(value, "__func__", None) is abc.ABCMeta.register:
        # typing's aliases lead to the collections.abc classes, whose registry is the host's
        raise refuse("ABC.register() is not allowed (it changes the host's isinstance checks)")
    return value


def _class_name(obj: Any) -> str:
    """``cls.__name__`` (``type(x).__name__``) for a class: a string, which leads nowhere. Other
    objects' ``__name__`` (functions, modules) stays refused."""
    if isinstance(obj, type):
        return _type_name_of(obj)
    raise refuse("attribute '__name__' is not allowed (only on classes, as in type(x).__name__)")


def _checked_str_format(obj: Any, name: str) -> Callable[..., Any] | None:
    """``str.format``/``format_map`` that refuse templates whose fields traverse.

    A field like ``{0.__class__}`` or ``{x[0]}`` reads attributes or items of an argument
    inside C code, past every guard; a field naming only an argument (``{}``, ``{0}``,
    ``{name}``) reads nothing but the argument itself. None if ``obj`` is no string (or a
    string class that defines its own method of that name).
    """
    real = getattr(str, name)
    if isinstance(obj, str) and getattr(type(obj), name) is real:
        method = getattr(obj, name)

        def bound(*args: Any, **kwargs: Any) -> Any:
            check_format_template(obj, name)
            return method(*args, **kwargs)

        checked = bound
    elif isinstance(obj, type) and issubclass(obj, str) and getattr(obj, name) is real:

        def unbound(template: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(template, str):
                check_format_template(template, name)
            return real(template, *args, **kwargs)

        checked = unbound
    else:
        return None
    checked.__name__ = checked.__qualname__ = name
    return checked


def check_format_template(template: str, method: str = "format") -> None:
    """Refuse a format template with a field that reads an attribute or an item."""
    # The parser raises the ValueError that str.format itself raises for a broken template.
    for _literal, field, spec, _conversion in _FORMATTER.parse(template):
        if field is not None and ("." in field or "[" in field):
            raise refuse(
                f"str.{method}() with the field {{{field}}} is not allowed "
                "(format fields may not read attributes or items)"
            )
        if spec:
            check_format_template(spec, method)  # nested fields: "{0:{width}}"


def getattr_builtin(*args: Any) -> Any:
    """The ``getattr`` builtin of programs: :func:`guarded_getattr` with getattr's arity."""
    if not 2 <= len(args) <= 3:
        bound = "least 2" if len(args) < 2 else "most 3"
        raise TypeError(f"getattr expected at {bound} arguments, got {len(args)}")
    return guarded_getattr(*args)


def guarded_hasattr(*args: Any) -> bool:
    if len(args) != 2:
        raise TypeError(f"hasattr expected 2 arguments, got {len(args)}")
    try:
        guarded_getattr(*args)
    except AttributeError:
        return False
    return True


def _name_type_error(name: Any) -> TypeError:
    # the words of the builtins (getattr, hasattr, setattr, delattr)
    return TypeError(f"attribute name must be string, not '{type(name).__name__}'")


class WriteGuard:
    """``_write_``: which objects a program may assign attributes or items on.

    Lists, dicts and sets the program holds, bytearrays, and instances of classes the program
    itself defined. Everything else (API objects, modules, host data) is read-only.
    """

    WRITABLE_BUILTINS = frozenset({list, dict, set, bytearray})

    def __init__(self) -> None:
        self.program_classes: set[type] = set()

    def __call__(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in self.WRITABLE_BUILTINS or kind in self.program_classes:
            return obj
        raise refuse(
            f"assignment to attributes or items of type '{_type_name(kind)}' is not allowed"
        )

    def make_class(self, name: str, bases: tuple, namespace: dict) -> type:
        """The ``__metaclass__`` of program classes: remembers them as writable."""
        cls = type(name, bases, namespace)
        self.program_classes.add(cls)
        return cls

    def superclass_init(self, bound: Any) -> Any:
        """``super(...).__init__`` (the policy compiles the expression to this call): the next
        ``__init__`` after one of the program's own classes, on an instance of it. A super
        object of any other class (a proxy's, an API class's) could re-initialise the caller's
        objects, so it is refused."""
        if type(bound) is super and bound.__thisclass__ in self.program_classes:
            return bound.__init__
        raise refuse(
            "attribute '__init__' is not allowed "
            "(only super().__init__ in a class the program defines)"
        )

    def setattr(self, obj: Any, name: Any, value: Any) -> None:
        _check_write_name(name)
        setattr(self(obj), name, value)

    def delattr(self, obj: Any, name: Any) -> None:
        _check_write_name(name)
        delattr(self(obj), name)


def _check_write_name(name: Any) -> None:
    if type(name) is not str:
        raise _name_type_error(name)
    problem = attribute_name_problem(name)
    if problem:
        raise refuse(problem)


class GuardedType:
    """``type`` for programs: ``type(x)`` gives the class of a value but never a metaclass,
    and there is no three-argument form (no class factory). ``type[int]``, ``isinstance(c,
    type)`` and ``issubclass`` behave as with the builtin; the alias ``type[...]`` has this
    stand-in as its origin, so calling it is guarded too."""

    __module__ = "builtins"  # with the instance's __qualname__: how the alias prints

    def __init__(self) -> None:
        self.__qualname__ = "type"

    def __call__(self, *args: Any) -> type:
        if len(args) != 1:
            raise refuse(f"type() with {len(args)} arguments is not allowed (no class factory)")
        kind = type(args[0])
        if issubclass(kind, type):
            raise refuse("type() of a class is not allowed (no metaclasses)")
        return kind

    def __getitem__(self, item: Any) -> types.GenericAlias:
        return types.GenericAlias(self, item)

    def __instancecheck__(self, obj: Any) -> bool:
        return isinstance(obj, type)

    def __subclasscheck__(self, cls: Any) -> bool:
        return issubclass(cls, type)

    def __repr__(self) -> str:
        return "<class 'type'>"


guarded_type = GuardedType()


def forbidden(name: str, reason: str) -> Callable[..., Any]:
    """A stand-in builtin that refuses, so a program gets a clear reason instead of NameError."""

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise refuse(f"{name}() is not allowed ({reason})")

    refused.__name__ = refused.__qualname__ = name
    return refused


def _type_name(kind: type) -> str:
    # type's own descriptor: no hook of the class can intercept it
    return type.__getattribute__(kind, "__qualname__")


_type_name_of = type.__dict__["__name__"].__get__
"""a class's ``__name__`` by type's own descriptor (a metaclass cannot redefine it)"""
