"""Summaries of immutable API objects are taken once per run; everything else at every exit."""

from dataclasses import dataclass

from vipexec.core.program import Program
from vipexec.core.summarize import DEFAULT_LIMITS, LASTING, register, summarize
from vipexec.core.tracer import record_call


@dataclass(frozen=True)
class Frozen:
    name: str


SUMMARIZED = []


def _summarize_frozen(value, limits):
    SUMMARIZED.append(value.name)
    return {"type": "Frozen", "name": value.name}


register(Frozen, _summarize_frozen, immutable=True)

THREE_EXITS = """
def execute_command(thing, api):
    # Step 1: hold it
    first = thing
    # Step 2: hold it again, and pass it to a call
    second = [thing, thing]
    api.use(thing)
    # Step 3: and again
    third = {"k": thing}
    return 1
"""


class Api:
    def use(self, value):
        record_call("use", {"value": value}, value, ms=0.1)
        return value


def test_an_immutable_object_is_summarised_once_per_run():
    SUMMARIZED.clear()
    thing = Frozen("a")
    program = Program.from_source(THREE_EXITS)
    run = program.run_in_process(inputs=[thing, Api()], policy=False)
    # once for the run's inputs (summarised before the run starts), once for the whole run
    assert run.ok and SUMMARIZED == ["a", "a"]
    first = run.blocks[0].variables["first"]
    assert first == {"type": "Frozen", "name": "a"}
    assert run.blocks[1].variables["second"]["items"] == [first, first]
    assert run.blocks[1].calls[0]["result"] is first
    assert (
        run.blocks[2].variables["third"]["items"][0][1]
        is run.blocks[1].variables["second"]["items"][0]
    )
    program.run_in_process(inputs=[thing, Api()], policy=False)
    assert len(SUMMARIZED) == 4  # a new run summarises again


def test_mutable_objects_are_summarised_at_every_exit():
    class Patch:
        def __init__(self):
            self.left, self.lower, self.right, self.upper = 0, 0, 5, 5

    source = (
        "def execute_command(p):\n    # Step 1: before\n    a = p\n"
        "    # Step 2: after\n    p.left = 3\n    b = p\n    return 1\n"
    )
    run = Program.from_source(source).run_in_process(inputs=[Patch()], policy=False)
    assert run.blocks[0].variables["a"]["box"] == [0, 0, 5, 5]
    assert run.blocks[1].variables["b"]["box"] == [3, 0, 5, 5]


def test_the_store_keeps_its_objects_and_checks_identity():
    SUMMARIZED.clear()
    lasting = {}
    thing = Frozen("b")
    assert summarize(thing, DEFAULT_LIMITS, {LASTING: lasting}) == {"type": "Frozen", "name": "b"}
    (kept,) = lasting.values()
    assert kept[0] is thing
    summarize(thing, DEFAULT_LIMITS, {LASTING: lasting})
    assert SUMMARIZED == ["b"]
    other = Frozen("c")
    lasting[id(other)] = (thing, {"type": "stale"}, 200)  # an id reused by another object
    assert summarize(other, DEFAULT_LIMITS, {LASTING: lasting})["name"] == "c"
