"""Proxies of the caller's objects: what a sandboxed in-process program can and cannot do with
them, and the guarantees the cheap design keeps (copies of plain data refreshed by calls,
everything else read through and exposed, proxy classes cached by class identity)."""

from __future__ import annotations

import gc
import weakref

import pytest

from vipexec.modules.refs import ImageRef, VideoRef
from vipexec.sandbox.language import proxy
from vipexec.sandbox.language.proxy import Proxy, expose, proxy_class, unwrap


class Counter:
    """A caller's plain class (not marked safe): methods change its public attributes."""

    LIMIT = 10

    def __init__(self):
        self.count = 0
        self.items = ["a"]
        self.meta = {"k": 1}

    def bump(self):
        self.count += 1
        return self.count

    def become_list(self):
        self.count = [self.count]

    def drop(self):
        del self.count

    def grow(self):
        self.extra = "new"

    @property
    def doubled(self):
        return self.count * 2


class Slotted:
    __slots__ = ("parts", "size")

    def __init__(self):
        self.size = 3
        self.parts = [1, 2]


def run_with(run_source, body: str, obj):
    source = "def execute_command(obj):\n" + "".join(f"    {line}\n" for line in body.split("\n"))
    return run_source(source, inputs={"obj": obj})


def test_plain_attributes_follow_the_objects_own_method_calls(run_source):
    run = run_with(
        run_source, "a = obj.count\nobj.bump()\nobj.bump()\nreturn [a, obj.count]", Counter()
    )
    assert run.ok and run.result == [0, 2]


def test_a_property_is_read_through_on_every_access(run_source):
    run = run_with(run_source, "a = obj.doubled\nobj.bump()\nreturn [a, obj.doubled]", Counter())
    assert run.ok and run.result == [0, 2]


def test_an_attribute_that_stops_being_plain_data_is_never_handed_over_raw(run_source):
    counter = Counter()
    run = run_with(
        run_source, "a = obj.count\nobj.become_list()\nobj.count.append(5)\nreturn a", counter
    )
    assert run.ok and run.result == 0
    assert counter.count == [0]  # the program appended to a copy


def test_an_attribute_the_object_loses_is_gone_from_the_proxy(run_source):
    run = run_with(run_source, "a = obj.count\nobj.drop()\nreturn obj.count", Counter())
    assert (run.error.type, run.error.line) == ("AttributeError", 4)


def test_an_attribute_a_call_adds_is_readable(run_source):
    run = run_with(run_source, "obj.grow()\nreturn obj.extra", Counter())
    assert run.ok and run.result == "new"


def test_containers_in_attributes_are_copies(run_source):
    counter = Counter()
    run = run_with(
        run_source,
        "obj.items.append('b')\nobj.meta['k'] = 2\nreturn [len(obj.items), obj.meta['k']]",
        counter,
    )
    assert run.ok and run.result == [1, 1]
    assert counter.items == ["a"] and counter.meta == {"k": 1}


def test_class_constants_are_readable_on_objects_and_classes(run_source):
    run = run_source(
        "def execute_command(obj):\n    return [obj.LIMIT, Counter.LIMIT, Counter().count]\n",
        inputs={"obj": Counter()},
        namespace={"Counter": Counter},
    )
    assert run.ok and run.result == [10, 10, 0]


def test_slots_are_copied_or_read_through(run_source):
    slotted = Slotted()
    run = run_with(run_source, "obj.parts.append(3)\nreturn [obj.size, len(obj.parts)]", slotted)
    assert run.ok and run.result == [3, 2]
    assert slotted.parts == [1, 2]


WRITE_REFUSED = "assignment to attributes or items of type 'Counter' is not allowed"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("obj.count = 5", WRITE_REFUSED),
        ("setattr(obj, 'count', 5)", WRITE_REFUSED),
        ("del obj.count", WRITE_REFUSED),
        ("obj.bump = None", WRITE_REFUSED),
        ("return getattr(obj, '_vx_target')", "attribute '_vx_target' is not allowed"),
    ],
)
def test_proxies_refuse_writes_and_internals(run_source, body, message):
    counter = Counter()
    run = run_with(run_source, body, counter)
    assert run.error.kind == "policy"
    assert run.error.message == f"policy: line 2: {message}"
    assert counter.count == 0 and counter.bump.__func__ is Counter.bump


def test_a_read_through_attribute_is_never_shadowed_by_a_stale_copy():
    class Counter2(Counter):
        pass

    first, second = Counter2(), Counter2()
    second.count = [1]  # the same name holding other than plain data on another object
    exposed_first = expose(first)
    assert exposed_first.count == 0
    exposed_second = expose(second)
    assert exposed_second.count == [1] and exposed_second.count is not second.count
    exposed_second.count.append(2)
    assert second.count == [1]
    # From now on the name is read through on every proxy of the class, the first one too.
    first.count = 7
    assert exposed_first.count == 7


def test_the_proxy_class_has_no_fallback_hooks():
    # The speed of attribute reads depends on it: no __getattr__ / __getattribute__ /
    # __setattr__ anywhere between a proxy class and object.
    cls = proxy_class(Counter)
    for klass in cls.__mro__[:-1]:
        for hook in ("__getattr__", "__getattribute__", "__setattr__"):
            assert hook not in klass.__dict__, (klass, hook)


def test_proxy_classes_die_with_their_class():
    class Temporary:
        def __init__(self):
            self.x = 1

    exposed = expose(Temporary())
    assert exposed.x == 1
    before = len(proxy._PROXY_CLASSES)
    ref = weakref.ref(Temporary)
    del Temporary, exposed
    gc.collect()
    assert ref() is None
    assert len(proxy._PROXY_CLASSES) < before


def test_unwrap_gives_back_the_real_object_and_class():
    counter = Counter()
    assert unwrap(expose(counter)) is counter
    assert unwrap(expose(Counter)) is Counter
    assert isinstance(expose(counter), expose(Counter))
    assert isinstance(expose(counter), Proxy)


def test_the_projects_api_classes_are_handed_over_as_they_are():
    from vipexec.modules.api import ImagePatch, VideoSegment, build_api
    from vipexec.modules.dispatch import LocalDispatcher
    from vipexec.modules.images import ImageStore
    from vipexec.modules.synthetic.backend import SyntheticBackend

    names = build_api(LocalDispatcher(SyntheticBackend(), ImageStore()))
    ref = ImageRef("abc", 4, 4)
    patch = names["ImagePatch"](ref)
    for value in (ref, VideoRef("v", 1, 4, 4, ("abc",)), patch, names["ImagePatch"]):
        assert expose(value) is value
    assert expose(ImagePatch) is ImagePatch and expose(VideoSegment) is VideoSegment


def test_attributes_named_like_keywords_are_copied(run_source):
    class Odd:
        pass

    odd = Odd()
    setattr(odd, "class", "vehicle")
    odd.size = 2
    run = run_with(run_source, "return [getattr(obj, 'class'), obj.size]", odd)
    assert run.ok and run.result == ["vehicle", 2]


def test_objects_of_one_class_with_many_layouts_are_all_copied_right():
    class Varied:
        def __init__(self, index):
            setattr(self, f"field_{index}", index)
            self.common = -index

    objects = [Varied(index) for index in range(10)]  # ten layouts of the same size
    for _ in range(2):
        for index, obj in enumerate(objects):
            exposed = expose(obj)
            assert getattr(exposed, f"field_{index}") == index
            assert exposed.common == -index
            assert not hasattr(exposed, f"field_{index + 1}")


class Shapes:
    class Patch:
        """A caller's patch-like class (public box attributes), reached through proxies; its
        qualified name is not its proxy class's, so a proxy summarised as itself shows."""

        def __init__(self, left, lower=0, right=50, upper=50):
            self.left, self.lower, self.right, self.upper = left, lower, right, upper

        def shifted(self, dx):
            return Shapes.Patch(self.left + dx, self.lower, self.right + dx, self.upper)


PATCHES = """
def execute_command(patches):
    # Step 1: hold the caller's patches, alone and in containers
    first = patches[0]
    moved = [p.shifted(1) for p in patches]
    pairs = {p.left: (p, p.right) for p in patches}
    mixed = [first, 1, "x"]
    return len(moved)
"""


@pytest.mark.parametrize("lefts", [[1, 2, 3], [1, float("nan"), 3], [0.5, 2**60]])
def test_a_proxied_value_has_the_summary_of_the_value_itself(lefts):
    from vipexec.core.program import Program

    program = Program.from_source(PATCHES)
    runs = [
        program.run_in_process(inputs=[[Shapes.Patch(left) for left in lefts]], policy=policy)
        for policy in (False, True)
    ]
    assert all(run.ok for run in runs)
    trusted, proxied = (run.blocks[0].variables for run in runs)
    assert proxied == trusted
    assert proxied["first"]["type"] == "Shapes.Patch"
