"""The shared registry of named, lazily imported factories (backends and labelers use it)."""

import pytest

from vipexec.core.registry import Registry


class Oops(Exception):
    pass


def make(*, size=1, colour="red"):
    return (size, colour)


def test_lazy_strings_are_imported_once_on_first_use():
    import sys

    sys.modules.pop("fractions", None)
    registry = Registry("widget", Oops, {"fraction": "fractions:Fraction"})
    assert registry.names() == ["fraction"]
    assert "fractions" not in sys.modules  # registering imports nothing
    assert registry.create("fraction", numerator=3, denominator=6) == 0.5
    assert registry.resolve("fraction").__name__ == "Fraction"


def test_errors_name_the_kind_and_what_is_accepted():
    registry = Registry("widget", Oops, {"make": make})
    with pytest.raises(Oops, match="unknown widget 'nope'; available widgets: make"):
        registry.create("nope")
    with pytest.raises(Oops, match=r"widget 'make': bad options .*; accepted: size, colour"):
        registry.create("make", colur="blue")
    with pytest.raises(Oops, match="already registered"):
        registry.register("make", make)
    with pytest.raises(Oops, match="non-empty word"):
        registry.register("a, b", make)
    with pytest.raises(Oops, match="callable or 'module:attribute'"):
        registry.register("x", 42)
    registry.register("broken", "no_such_module_here:thing")
    with pytest.raises(Oops, match="widget 'broken' cannot be loaded"):
        registry.create("broken")
    assert registry.create("make", size=3) == (3, "red")
