"""PropTest suites (outcomes kept apart), the test linter and the hypothesis/pytest suites."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from vipexec.core.program import Program
from vipexec.labelers.base import LabelContext
from vipexec.labelers.cli import lint_command, test_command
from vipexec.labelers.execution import Executor
from vipexec.labelers.linter import lint_suite
from vipexec.labelers.logic import LogicLabeler
from vipexec.labelers.suites import Suite, run_suite

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory):
    from vipexec.modules.synthetic.export import write_scenes

    folder = tmp_path_factory.mktemp("scenes")
    return write_scenes(folder, 2, seed=4, max_objects=4)


def outcomes_of(program_name, scene_files):
    executor = Executor()
    refs = [executor.store.load(p) for p in scene_files]
    program = Program.from_file(FIXTURES / program_name)
    suite = Suite.from_file(FIXTURES / "proptest_suite.py")
    return run_suite(program, suite, [{"image": r} for r in refs], executor=executor)


def test_suite_parsing():
    suite = Suite.from_file(FIXTURES / "proptest_suite.py")
    assert suite.kind == "proptest"
    assert [t.name for t in suite.tests] == [
        "execute_test",
        "execute_test_vacuous",
        "execute_test_broken",
        "execute_test_at_most_one",
    ]
    assert suite.tests[0].cases == ((7, 1), (9, 2))
    assert Suite.from_file(FIXTURES / "scene_properties_suite.py").kind == "pytest"
    from vipexec.core.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="no tests found"):
        Suite.from_source("x = 1\n")
    with pytest.raises(InvalidArgumentError, match="not valid Python"):
        Suite.from_source("def execute_test(image:\n")


def test_outcomes_are_kept_apart(scene_files):
    outcomes = outcomes_of("count_red_circles.py", scene_files)
    by_test = {o.test: o for o in outcomes if o.input == "input 0" or o.input.startswith("input 0")}
    assert by_test["execute_test"].outcome == "pass"
    assert by_test["execute_test_vacuous"].outcome == "pass"
    broken = by_test["execute_test_broken"]
    assert broken.outcome == "test_error"
    assert "NameError" in broken.message and broken.case == 1
    failing = [o for o in outcomes if o.test == "execute_test_at_most_one"]
    assert {o.outcome for o in failing} <= {"pass", "assertion_failed"}


def test_assertion_failure_names_the_case(scene_files):
    outcomes = outcomes_of("count_all_circles.py", scene_files)
    failed = [o for o in outcomes if o.outcome == "assertion_failed"]
    assert failed, outcomes
    assert all(o.test == "execute_test_at_most_one" and o.case == 2 for o in failed)
    assert failed[0].message.startswith("expected no red circle, got ")


def test_a_failing_program_is_not_a_broken_test(scene_files):
    outcomes = outcomes_of("crashes.py", scene_files)
    assert {o.outcome for o in outcomes} == {"program_error"}
    assert "IndexError" in outcomes[0].message


def test_suite_check_in_the_logic_labeler(world):
    store, api, ref, _ = world
    program = Program.from_file(FIXTURES / "count_all_circles.py")
    run = program.run_in_process(namespace=api, inputs={"image": ref}, policy=True)
    context = LabelContext(
        query="How many red circles are there?",
        store=store,
        inputs={"image": ref},
        suite=FIXTURES / "proptest_suite.py",
    )
    labels = LogicLabeler(checks=["suite"]).label(run, context)
    assert [lab.value for lab in labels] == [None, False]
    assert labels[1].text.startswith("suite: execute_test_at_most_one (test case 2)")


# --- the linter -------------------------------------------------------------------------------


def test_linter_finds_the_always_true_bool_to_yesno():
    findings = lint_suite(Suite.from_file(FIXTURES / "proptest_suite.py"))
    codes = [(f.test, f.code) for f in findings]
    assert ("execute_test_vacuous", "always-true") in codes
    assert ("execute_test_broken", "undefined-name") in codes
    vacuous = next(f for f in findings if f.code == "always-true")
    assert vacuous.line == 17
    assert "bool_to_yesno(...) returns 'yes' or 'no'" in vacuous.message


def test_linter_cases():
    findings = lint_suite(Suite.from_file(FIXTURES / "lint_cases.py"))
    assert [(f.test, f.code) for f in findings] == [
        ("execute_test", "self-comparison"),
        ("execute_test_tuple", "always-true"),
        ("execute_test_nothing", "no-assertion"),
    ]


def test_lint_command(capsys):
    out = io.StringIO()
    assert lint_command(FIXTURES / "lint_cases.py", out=out) == 1
    assert "3 finding(s)" in out.getvalue()
    err = io.StringIO()
    assert lint_command(FIXTURES / "missing.py", err=err) == 2
    assert err.getvalue().startswith("vipexec: ") and "no such file" in err.getvalue()


# --- vipexec test -----------------------------------------------------------------------------


def test_test_command_with_a_proptest_suite(scene_files):
    out, err = io.StringIO(), io.StringIO()
    code = test_command(
        FIXTURES / "count_red_circles.py",
        FIXTURES / "proptest_suite.py",
        [str(p) for p in scene_files],
        out=out,
        err=err,
    )
    assert code == 1  # the broken test keeps the suite from passing
    table = out.getvalue().splitlines()
    assert table[0].split() == ["test", "input", "outcome", "message"]
    assert "lint:" in err.getvalue() and "always-true" in err.getvalue()
    assert any("test_error" in line and "[case 1]" in line for line in table)


def test_test_command_exit_codes(scene_files, tmp_path):
    passing = tmp_path / "passing.py"
    passing.write_text(
        "def execute_test(image):\n    result = solve_query(image)\n"
        "    assert isinstance(result, int)\n    assert result >= 0\n"
    )
    program = FIXTURES / "count_red_circles.py"
    images = [str(p) for p in scene_files]
    assert test_command(program, passing, images, out=io.StringIO()) == 0
    err = io.StringIO()
    assert test_command(program, passing, [], out=io.StringIO(), err=err) == 2
    assert "give at least one INPUT" in err.getvalue()
    err = io.StringIO()
    assert test_command(program, passing, ["nope.png"], out=io.StringIO(), err=err) == 2
    assert err.getvalue().count("\n") == 1


def test_test_command_escapes_what_the_suite_and_program_print(scene_files, tmp_path):
    # an assertion message is program-chosen text: it must not colour the terminal or forge a line
    forging = tmp_path / "forging.py"
    forging.write_text(
        "def execute_test(image):\n    result = solve_query(image)\n"
        "    assert result < 0, '\\x1b[31mred\\nvipexec: all tests passed'\n"
    )
    out = io.StringIO()
    images = [str(scene_files[0])]
    assert test_command(FIXTURES / "count_red_circles.py", forging, images, out=out) == 1
    printed = out.getvalue()
    assert "\x1b" not in printed
    assert not any(line.startswith("vipexec:") for line in printed.splitlines())
    assert "\\x1b[31mred vipexec: all tests passed" in printed  # escaped, on one line


def test_hypothesis_suite_passes_and_shrinks(capsys):
    suite = FIXTURES / "scene_properties_suite.py"
    out = io.StringIO()
    assert test_command(FIXTURES / "count_red_circles.py", suite, out=out) == 0, out.getvalue()
    assert out.getvalue().count(" pass ") == 2
    out = io.StringIO()
    assert test_command(FIXTURES / "count_all_circles.py", suite, out=out) == 1
    line = next(x for x in out.getvalue().splitlines() if x.startswith("test_count_equals"))
    assert "assertion_failed" in line
    # shrunk to the smallest failing scene: one circle that is not red
    assert "Scene(small blue circle at x=" in line


def test_suites_run_in_the_process_sandbox(scene_files):
    import vipexec

    with vipexec.Sandbox(workers=1, timeout=10, backend="synthetic") as sandbox:
        executor = Executor(sandbox_pool=sandbox)
        ref = sandbox.images.load(scene_files[0])
        program = Program.from_file(FIXTURES / "count_all_circles.py")
        outcomes = run_suite(
            program, FIXTURES / "proptest_suite.py", [{"image": ref}], executor=executor
        )
    assert [o.outcome for o in outcomes][:3] == ["pass", "pass", "test_error"]
    assert outcomes[3].outcome in ("pass", "assertion_failed")


def test_a_hanging_test_times_out_in_the_sandbox(scene_files, tmp_path):
    suite = tmp_path / "hangs.py"
    suite.write_text(
        "def execute_test(image):\n    result = solve_query(image)\n    while True:\n"
        "        pass\n\n\ndef execute_test_ok(image):\n    assert solve_query(image) >= 0\n"
    )
    out = io.StringIO()
    code = test_command(
        FIXTURES / "count_red_circles.py",
        suite,
        [str(scene_files[0])],
        timeout=1.0,
        out=out,
        err=io.StringIO(),
    )
    assert code == 1
    rows = {line.split()[0]: line for line in out.getvalue().splitlines()[1:3]}
    assert "test_error" in rows["execute_test"] and "timeout" in rows["execute_test"]
    assert " pass " in rows["execute_test_ok"] + " "


def test_isolated_tests_get_the_programs_live_result(scene_files, tmp_path):
    """In a sandbox worker the test receives the patch the program returned, not a summary:
    its methods work, and the answers match what the same suite sees in this process."""
    program = tmp_path / "largest.py"
    program.write_text(
        "from typing import List\n"
        "def execute_command(image) -> ImagePatch:\n"
        "    # Step 1: every object, largest first\n"
        "    patches: List[ImagePatch] = ImagePatch(image).find('object')\n"
        "    patches.sort(key=lambda p: p.width * p.height, reverse=True)\n"
        "    # Step 2: the largest\n"
        "    return patches[0] if patches else ImagePatch(image)\n"
    )
    suite = tmp_path / "live_suite.py"
    suite.write_text(
        "def execute_test(image):\n"
        "    result = solve_query(image)\n"
        "    # Test case 1: the answer is a patch that can be asked about\n"
        "    shape = result.simple_query('What shape is this?')\n"
        "    assert isinstance(shape, str) and shape\n"
        "    assert result.width > 0 and result.height > 0\n"
        "\n\n"
        "def execute_test_wrong(image):\n"
        "    result = solve_query(image)\n"
        "    # Test case 2: a property the patch lacks fails as an assertion\n"
        "    assert result.simple_query('What shape is this?') == 'no such shape'\n"
    )
    images = [str(p) for p in scene_files]
    tables = {}
    for isolate in (True, False):
        out, err = io.StringIO(), io.StringIO()
        code = test_command(program, suite, images, isolate=isolate, lint=False, out=out, err=err)
        assert code == 1, (out.getvalue(), err.getvalue())
        lines = out.getvalue().splitlines()[1:]
        rows = [line.split()[:3] for line in lines if line.startswith("execute_test")]
        assert len(rows) == 2 * len(images)
        tables[isolate] = rows
    outcomes = {(row[0], row[2]) for row in tables[True]}
    assert outcomes == {("execute_test", "pass"), ("execute_test_wrong", "assertion_failed")}
    assert tables[True] == tables[False]
