"""Exceptions never carry the caller's objects into an in-process sandboxed program.

Each case: a caller's class whose code raises an exception holding the caller's list (or dict),
a tiny program that catches it and tries to change what it got, and the exact outcome: the
program sees a copy (or a proxy), and the caller's data is unchanged. Then the exception
internals (``__traceback__`` and its frames, ``__context__``, ``__cause__``, ``__notes__``)
stay out of reach.
"""

from __future__ import annotations

import builtins

import pytest

from vipexec.sandbox.language.proxy import Proxy, expose


class Custom(Exception):
    """A caller's exception class with a public attribute."""

    def __init__(self, payload):
        super().__init__("custom")
        self.payload = payload


class Holder:
    """A caller's plain class whose methods fail in every way an exception can carry data."""

    def __init__(self):
        self.items = [1]
        self.table = {"k": 1}

    def attribute_of_table(self, name):
        return getattr(self.table, name)  # AttributeError.obj is the caller's dict

    def attribute_of_items(self, name):
        return getattr(self.items, name)

    def value_error(self):
        raise ValueError(self.items, self.table)

    def key_error(self, key):
        return {}[key]

    def custom(self):
        raise Custom(self.items)

    def os_error(self):
        raise OSError(2, "missing", self.items, None, self.table)

    def import_error(self):
        raise ImportError("x", name="x", path=self.items)

    def stop(self):
        raise StopIteration(self.items)

    def group(self):
        raise builtins.ExceptionGroup("group", [ValueError(self.items), Custom(self.table)])

    def chained(self):
        try:
            raise ValueError(self.items)
        except ValueError as inner:
            raise RuntimeError("outer") from inner

    def nested(self):
        raise RuntimeError(ValueError(self.items))

    @property
    def broken(self):
        raise ValueError(self.items)

    def __getitem__(self, key):
        raise KeyError(self.items)


class Builder:
    def __init__(self, holder):
        raise ValueError(holder.items)


def caller_function(holder):
    raise ValueError(holder.table)


CASES = [
    # (what the exception carries, program body catching it, expected result)
    (
        "AttributeError.obj (dict)",
        "try:\n    h.attribute_of_table('nope')\nexcept AttributeError as e:\n"
        "    e.obj['x'] = 2\n    return [e.name, sorted(e.obj)]",
        ["nope", ["k", "x"]],
    ),
    (
        "AttributeError.obj (list)",
        "try:\n    h.attribute_of_items('nope')\nexcept AttributeError as e:\n"
        "    e.obj.append(2)\n    return e.obj",
        [1, 2],
    ),
    (
        "args",
        "try:\n    h.value_error()\nexcept ValueError as e:\n"
        "    e.args[0].append(2)\n    e.args[1]['x'] = 1\n    return [e.args[0], len(e.args[1])]",
        [[1, 2], 2],
    ),
    (
        "KeyError of a caller's object",
        "try:\n    h.key_error(h)\nexcept KeyError as e:\n    return isinstance(e.args[0], Holder)",
        True,
    ),
    (
        "a caller's exception class's public attribute",
        "try:\n    h.custom()\nexcept Exception as e:\n    e.payload.append(2)\n"
        "    e.args\n    return e.payload",
        [1, 2],
    ),
    (
        "OSError.filename and filename2",
        "try:\n    h.os_error()\nexcept OSError as e:\n    e.filename.append(2)\n"
        "    e.filename2['x'] = 1\n    return [e.filename, len(e.filename2)]",
        [[1, 2], 2],
    ),
    (
        "ImportError.path",
        "try:\n    h.import_error()\nexcept ImportError as e:\n    e.path.append(2)\n"
        "    return e.path",
        [1, 2],
    ),
    (
        "StopIteration.value",
        "try:\n    h.stop()\nexcept StopIteration as e:\n    e.value.append(2)\n    return e.value",
        [1, 2],
    ),
    (
        "ExceptionGroup.exceptions",
        "try:\n    h.group()\nexcept Exception as e:\n    first, second = e.exceptions\n"
        "    first.args[0].append(2)\n    second.payload['x'] = 1\n"
        "    return [first.args[0], len(second.payload)]",
        [[1, 2], 2],
    ),
    (
        "an exception inside args",
        "try:\n    h.nested()\nexcept RuntimeError as e:\n    e.args[0].args[0].append(2)\n"
        "    return e.args[0].args[0]",
        [1, 2],
    ),
    (
        "a property that raises",
        "try:\n    h.broken\nexcept ValueError as e:\n    e.args[0].append(2)\n"
        "    return e.args[0]",
        [1, 2],
    ),
    (
        "a special method that raises",
        "try:\n    h[0]\nexcept KeyError as e:\n    e.args[0].append(2)\n    return e.args[0]",
        [1, 2],
    ),
    (
        "a constructor that raises",
        "try:\n    Builder(h)\nexcept ValueError as e:\n    e.args[0].append(2)\n"
        "    return e.args[0]",
        [1, 2],
    ),
    (
        "a function that raises",
        "try:\n    caller_function(h)\nexcept ValueError as e:\n    e.args[0]['x'] = 1\n"
        "    return len(e.args[0])",
        2,
    ),
]


@pytest.mark.parametrize(("carried", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_exceptions_carry_copies_and_proxies_only(run_source, carried, body, expected):
    holder = Holder()
    source = "def execute_command(h):\n" + "".join(f"    {line}\n" for line in body.split("\n"))
    run = run_source(
        source,
        inputs={"h": holder},
        namespace={"Holder": Holder, "Builder": Builder, "caller_function": caller_function},
    )
    assert run.error is None, (carried, run.error)
    assert run.result == expected
    assert holder.items == [1] and holder.table == {"k": 1}


def test_attribute_error_obj_of_a_missing_proxy_attribute_is_the_proxy(run_source):
    run = run_source(
        "def execute_command(h):\n    try:\n        h.nope\n    except AttributeError as e:\n"
        "        return [e.obj is h, e.name]\n",
        inputs={"h": Holder()},
    )
    assert run.ok and run.result == [True, "nope"]


INTERNALS = [
    ("e.__traceback__", "policy: line 5: attribute '__traceback__' is not allowed"),
    ("e.__context__", "policy: line 5: attribute '__context__' is not allowed"),
    ("e.__cause__", "policy: line 5: attribute '__cause__' is not allowed"),
    ("e.__notes__", "policy: line 5: attribute '__notes__' is not allowed"),
    ("e.__dict__", "policy: line 5: attribute '__dict__' is not allowed"),
    (
        "e.with_traceback(None).tb_frame",
        "policy: line 5: attribute 'tb_frame' is not allowed (interpreter internals)",
    ),
]


def _return_from_handler(run_source, expression):
    """Run a program that catches the caller's chained error as ``e`` and returns ``expression``."""
    return run_source(
        "def execute_command(h):\n    try:\n        h.chained()\n    except RuntimeError as e:\n"
        f"        return {expression}\n",
        inputs={"h": Holder()},
    )


@pytest.mark.parametrize(("expression", "message"), INTERNALS)
def test_exception_internals_are_refused_when_compiled(run_source, expression, message):
    run = _return_from_handler(run_source, expression)
    assert run.error.kind == "policy"
    assert run.error.message == message


@pytest.mark.parametrize(
    "name", ["__traceback__", "__context__", "__cause__", "__notes__", "tb_frame", "f_locals"]
)
def test_exception_internals_are_refused_through_getattr(run_source, name):
    run = _return_from_handler(run_source, f"getattr(e, {name!r})")
    assert run.error.kind == "policy"
    assert run.error.message.startswith(f"policy: line 5: attribute {name!r} is not allowed")


def test_chained_exceptions_are_exposed_too():
    # Unreachable by name, but a chained exception could be handed to a program later (a
    # caller's code re-raising it): it must not hold the caller's objects either.
    holder = Holder()
    with pytest.raises(RuntimeError) as caught:
        expose(holder).chained()
    inner = caught.value.__cause__
    assert isinstance(inner, ValueError)
    assert inner.args[0] == [1] and inner.args[0] is not holder.items


def test_an_exception_a_caller_object_raises_keeps_its_class(run_source):
    run = run_source(
        "def execute_command(h):\n    try:\n        h.custom()\n    except Custom as e:\n"
        "        return 'caught'\n",
        inputs={"h": Holder()},
        namespace={"Custom": Custom},
    )
    assert run.ok and run.result == "caught"


def test_exposed_exception_items_are_proxies_of_caller_objects():
    holder = Holder()
    with pytest.raises(KeyError) as caught:
        expose(holder).key_error(holder)
    assert isinstance(caught.value.args[0], Proxy)


def test_syntax_error_and_system_exit_fields_are_exposed():
    holder = Holder()

    def raise_syntax_error():
        raise SyntaxError("bad", (holder.items, 1, 1, holder.table, 1, 1))

    def raise_system_exit():
        raise SystemExit(holder.items)

    with pytest.raises(SyntaxError) as caught:
        expose(raise_syntax_error)()
    assert caught.value.filename == [1] and caught.value.filename is not holder.items
    assert caught.value.text == {"k": 1} and caught.value.text is not holder.table
    with pytest.raises(SystemExit) as exited:
        expose(raise_system_exit)()
    assert exited.value.code == [1] and exited.value.code is not holder.items
