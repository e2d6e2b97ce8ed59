"""Property: tracing (and the sandbox) never change a program's result or exception.

Hypothesis writes random straight-line and looping programs over integers and a list, with
step markers scattered through them (nested ones included), and each is run three ways: plain
``exec``, ``Program.run_in_process(policy=False)`` and ``Program.run_in_process(policy=True)``.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vipexec import Program

VARS = ["v0", "v1", "v2", "v3"]
var = st.sampled_from(VARS)
small = st.integers(-3, 5)
op = st.sampled_from(["+", "-", "*", "//", "%"])


@st.composite
def simple_statement(draw):
    kind = draw(st.integers(0, 6))
    target = draw(var)
    if kind == 0:
        return f"{target} = {draw(var)} {draw(op)} {draw(var)}"
    if kind == 1:
        return f"{target} = {draw(var)} if {draw(var)} > {draw(small)} else {draw(small)}"
    if kind == 2:
        return f"{target} = [{draw(var)}, {draw(var)}][{draw(st.integers(-2, 2))}]"
    if kind == 3:
        return f"{target} = int({draw(var)} < {draw(var)} and {draw(var)} != {draw(small)})"
    if kind == 4:
        return f"items.append({draw(var)})"
    if kind == 5:
        return f"{target} = len(items) + sum(items[-3:])"
    return f"{target} += {draw(small)}"


@st.composite
def statement(draw, depth=0):
    kind = draw(st.integers(0, 4 if depth == 0 else 2))
    if kind <= 2:
        return [draw(simple_statement())]
    body = draw(st.lists(simple_statement(), min_size=1, max_size=3))
    if kind == 3:
        header = f"for k in range({draw(st.integers(0, 4))}):"
    else:
        header = f"if {draw(var)} >= {draw(small)}:"
    lines = [header]
    for line in body:
        if draw(st.booleans()):
            lines.append(f"    # Step 9: nested {draw(st.integers(0, 99))}")
        lines.append("    " + line)
    return lines


@st.composite
def program_body(draw):
    lines = []
    for index, stmt in enumerate(draw(st.lists(statement(), min_size=1, max_size=8))):
        if draw(st.booleans()):
            lines.append(f"# Step {index + 1}: step {index}")
        lines.extend(stmt)
    return lines


def outcome_of_exec(source, call):
    namespace = {}
    try:
        exec(compile(source, "plain", "exec"), namespace)
        return ("ok", call(namespace))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def outcome_of_run(run):
    if run.ok:
        return ("ok", run.result)
    return ("error", run.error.type, run.error.message)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(body=program_body(), a=small, b=small)
def test_function_form_equivalence(body, a, b):
    source = (
        "def execute_command(a, b):\n"
        "    v0, v1, v2, v3 = a, b, a - b, 1\n"
        "    items = []\n"
        + "".join(f"    {line}\n" for line in body)
        + "    return (v0, v1, v2, v3, items)\n"
    )
    expected = outcome_of_exec(source, lambda ns: ns["execute_command"](a, b))
    program = Program.from_source(source)
    for sandbox in (False, True):
        assert outcome_of_run(program.run_in_process(inputs=[a, b], policy=sandbox)) == expected, (
            source
        )


@SETTINGS
@given(body=program_body(), a=small)
def test_script_form_equivalence(body, a):
    source = (
        f"v0, v1, v2, v3 = {a}, 2, 3, 4\nitems = []\n"
        + "".join(f"{line}\n" for line in body)
        + "result = (v0, v1, v2, v3, items)\nprint(result)\nprint('Work is Done!')\n"
    )
    expected = outcome_of_exec(
        source.replace("print(", "(lambda *a: None)("), lambda ns: ns["result"]
    )
    program = Program.from_source(source)
    for sandbox in (False, True):
        assert outcome_of_run(program.run_in_process(policy=sandbox)) == expected, source
