"""The static attribute fast path never admits an access that RestrictedPython refuses.

``obj.name`` compiles to a plain attribute load unless the name is refused outright or its
safety depends on the object's type. RestrictedPython's ``safer_getattr`` is the reference: for
every name our policy compiles to a plain load, ``safer_getattr`` must accept it on every
object. (Its ``getattr`` parameter is replaced by a stub so that only its *refusal* logic runs.)
"""

import ast
import keyword
import string
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from RestrictedPython.Guards import safer_getattr
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from vipexec.core.errors import PolicyError
from vipexec.sandbox.language.builtins import module_view
from vipexec.sandbox.language.guards import guarded_getattr
from vipexec.sandbox.language.policy import TYPE_DEPENDENT_ATTRIBUTES, ProgramPolicy
from vipexec.sandbox.language.proxy import expose
from vipexec.testing import FakeImagePatch, FakeScene

ACCEPTED = object()


def classify(name: str) -> str:
    """How the policy compiles ``o.<name>``: 'fast', 'guarded' or 'refused'."""
    policy = ProgramPolicy()
    tree = policy.visit(ast.parse(f"o.{name}"))
    if policy.problems:
        return "refused"
    node = tree.body[0].value
    if isinstance(node, ast.Call) and node.func.id == "_getattr_":
        return "guarded"
    assert isinstance(node, ast.Attribute)
    return "fast"


def safer_getattr_refuses(obj, name) -> bool:
    try:
        result = safer_getattr(obj, name, ACCEPTED, getattr=lambda *args: ACCEPTED)
    except (NotImplementedError, AttributeError, TypeError):
        return True
    assert result is ACCEPTED
    return False


def _generator():
    yield 1


def _zoo():
    try:
        raise ValueError("x")
    except ValueError as exc:
        traceback = exc.__traceback__
    frame = sys._getframe()
    str_subclass = type("S", (str,), {})
    return [
        "abc",
        str,
        str_subclass,
        str_subclass("x"),
        string,
        string.Formatter,
        string.Formatter(),
        _generator(),
        traceback,
        frame,
        frame.f_code,
        _zoo,
        1,
        [],
        {},
        module_view("math"),
        FakeImagePatch(FakeScene(10, 10)),
        expose(FakeImagePatch(FakeScene(10, 10))),
        ValueError("x"),
        type,
        object(),
    ]


ZOO = _zoo()


def _candidate_names():
    names = set(INSPECT_ATTRIBUTES) | set(TYPE_DEPENDENT_ATTRIBUTES)
    for obj in ZOO:
        names.update(dir(obj))
    names.update({"_", "__", "x__roles__", "__roles__", "mro", "format", "vformat"})
    return sorted(n for n in names if n.isidentifier() and not keyword.iskeyword(n))


NAMES = _candidate_names()


def test_the_zoo_covers_every_kind_of_refusal():
    kinds = {classify(name) for name in NAMES}
    assert kinds == {"fast", "guarded", "refused"}
    assert any(safer_getattr_refuses("abc", n) for n in NAMES if classify(n) == "guarded")


@pytest.mark.parametrize("name", NAMES)
def test_fast_names_are_accepted_by_safer_getattr_on_every_object(name):
    if classify(name) != "fast":
        return
    refusing = [type(obj).__name__ for obj in ZOO if safer_getattr_refuses(obj, name)]
    assert refusing == []


@pytest.mark.parametrize("name", [n for n in NAMES if classify(n) == "guarded"])
def test_guarded_names_are_refused_at_least_where_safer_getattr_refuses(name):
    for obj in ZOO:
        if safer_getattr_refuses(obj, name):
            if name in ("format", "format_map") and _is_str_or_str_class(obj):
                _assert_format_refuses_traversal(obj, name)
                continue
            if name == "__name__" and isinstance(obj, type):
                # admitted: a class's name (type(x).__name__) is a plain string
                assert guarded_getattr(obj, name) == type.__dict__["__name__"].__get__(obj)
                continue
            with pytest.raises(PolicyError):
                guarded_getattr(obj, name)


def _is_str_or_str_class(obj):
    return isinstance(obj, str) or (isinstance(obj, type) and issubclass(obj, str))


def _assert_format_refuses_traversal(obj, name):
    """str.format/format_map are admitted, but refuse every template whose fields traverse
    (safer_getattr refuses the method outright)."""
    args = ({"a": 1},) if name == "format_map" else (1,)
    for field in ("{0.real}", "{a.real}", "{0[0]}", "{a[x]}", "{0:{0.real}}"):
        if isinstance(obj, str):
            template = type(obj)(field)
            with pytest.raises(PolicyError):
                guarded_getattr(template, name)(*args)
        else:
            with pytest.raises(PolicyError):
                guarded_getattr(obj, name)(obj(field), *args)


@pytest.mark.parametrize(
    "name", [*sorted(INSPECT_ATTRIBUTES), "__class__", "_private", "a__roles__"]
)
def test_names_safer_getattr_refuses_everywhere_are_refused_at_compile_time(name):
    assert classify(name) == "refused"


identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True).filter(
    lambda n: not keyword.iskeyword(n)
)


@settings(max_examples=500, deadline=None)
@given(name=identifiers, obj=st.sampled_from(ZOO))
def test_fast_path_property(name, obj):
    if classify(name) == "fast":
        assert not safer_getattr_refuses(obj, name)


def test_fast_path_is_a_plain_load_in_the_compiled_code():
    from vipexec import Program

    code = Program.from_source("def f(o):\n    return o.left + o.width\n").compile().code
    names = set()
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names.update(const.co_names)
    assert {"left", "width"} <= names
    assert "_getattr_" not in names
