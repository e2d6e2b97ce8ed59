"""One plain-data check: exact builtin types, bounded as each caller asks."""

import pytest

from vipexec.core.plain_data import NotPlainData, plain_copy
from vipexec.modules.dispatch import check_plain
from vipexec.sandbox.isolation.messages import plain_or_none


class Text(str):
    """A str subclass could run code while it is encoded: never plain."""


def nested(levels):
    value = 0
    for _ in range(levels):
        value = [value]
    return value


def test_copies_plain_data_with_tuples_as_lists():
    value = {"a": (1, 2.5, None, True), "b": {"c": "d"}}
    copy = plain_copy(value)
    assert copy == {"a": [1, 2.5, None, True], "b": {"c": "d"}}
    assert copy["b"] is not value["b"]


@pytest.mark.parametrize(
    ("value", "options", "message"),
    [
        (Text("x"), {}, "Text is not plain data"),
        ({1: 2}, {}, "dict keys must be str, got int"),
        (nested(22), {}, "nested too deeply"),
        ([0] * 4, {"max_items": 3}, "more than 3 entries in a list"),
        ([2**70], {"max_int": 2**63}, "an int over"),
    ],
)
def test_says_why_a_value_is_not_plain(value, options, message):
    with pytest.raises(NotPlainData, match=message):
        plain_copy(value, **options)


def test_each_caller_keeps_its_bounds():
    # a worker's result: bounded in entries and int size, answered as (ok, copy)
    assert plain_or_none((1, "a")) == (True, [1, "a"])
    assert plain_or_none([0] * 10_001) == (False, None)
    assert plain_or_none(2**64) == (False, None)
    assert plain_or_none(nested(21)) == (True, nested(21))
    assert plain_or_none(nested(22)) == (False, None)
    # API call arguments: any length or int, a TypeError naming where
    check_plain({"n": 2**64, "items": [0] * 10_001})
    with pytest.raises(TypeError, match=r"^find\(\) arguments: Text is not plain data$"):
        check_plain({"name": Text("x")}, "find() arguments")
