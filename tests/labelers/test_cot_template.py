"""The template CoT converter meets the method's form, and states the code's operations so a
wrong one is visible in the text."""

from __future__ import annotations

from pathlib import Path

import pytest

from vipexec import Program
from vipexec.core.run import BlockTrace
from vipexec.cot import (
    StepContext,
    TemplateConverter,
    block_step,
    check_step_form,
    known_values,
    run_steps,
)

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = [
    *sorted((ROOT / "examples").glob("*.py")),
    *(
        ROOT / "tests" / "labelers" / "fixtures" / name
        for name in ("count_all_circles.py", "count_red_circles.py", "crashes.py")
    ),
]


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.name)
def test_every_step_of_the_example_and_fixture_programs_meets_the_form(path, run_on):
    run = run_on(path.read_text(encoding="utf-8"))
    steps = run_steps(run)
    assert len(steps) == len(run.program.blocks)
    for block, text in zip(run.program.blocks, steps):
        assert check_step_form(text, block) == [], text
    assert steps == run_steps(run), "the same run gives the same text"


def test_faulty_programs_meet_the_form_too(run_on):
    source = (ROOT / "examples" / "count_shapes.py").read_text(encoding="utf-8")
    for fault in (
        source.replace("== 0", "> 0"),
        source.replace("red_shapes[0]", "red_shapes[5]"),
        source.replace('"red"', '"green"'),
        source.replace("len(red_shapes)", "len(red_shape)"),
    ):
        run = run_on(fault)
        for block, text in zip(run.program.blocks, run_steps(run)):
            assert check_step_form(text, block) == [], text


# --- hand-written blocks, one per operation ------------------------------------------------------


def one_step(body: str, variables=None, known=None, *, calls=(), error=None) -> tuple:
    """The text and block of a one-block program whose block is ``body``, with a trace of
    these variables and calls (failing with ``error`` when given)."""
    source = "def execute_command(image):\n    # Step 1: do it\n" + "".join(
        f"    {line}\n" for line in body.splitlines()
    )
    block = Program.from_source(source, name="hand.py").blocks[0]
    trace = BlockTrace(
        0,
        1,
        "do it",
        block.lines,
        "error" if error else "ok",
        variables=variables or {},
        calls=list(calls),
        executions=1,
        error=error,
    )
    text = block_step(block, trace, known=known)
    return text, block


def number(value):
    return {"type": type(value).__name__, "value": value}


@pytest.mark.parametrize(
    ("operator", "words"),
    [
        (">", "is greater than"),
        ("<", "is less than"),
        (">=", "is at least"),
        ("<=", "is at most"),
        ("==", "is equal to"),
        ("!=", "is not equal to"),
    ],
)
def test_a_comparison_names_its_operator_and_operand_values(operator, words):
    text, block = one_step(
        f"answer = count {operator} 2", {"answer": number(True)}, {"count": number(3)}
    )
    assert f"We compare whether the count (3) {words} 2." in text
    assert check_step_form(text, block) == []


def test_a_wrong_operator_or_constant_changes_the_text():
    right, _ = one_step("answer = count > 2", known={"count": number(3)})
    wrong_operator, _ = one_step("answer = count < 2", known={"count": number(3)})
    off_by_one, _ = one_step("answer = count > 3", known={"count": number(3)})
    assert len({right, wrong_operator, off_by_one}) == 3
    assert "is less than 2" in wrong_operator and "is greater than 3" in off_by_one


def test_filter_in_a_comprehension_and_in_a_loop():
    text, block = one_step("kept = [p for p in patches if p.verify_property('dog', 'brown')]")
    assert (
        "We keep only the items of the patches for which a visual question answering model, "
        "asked to check whether the dog is brown, says yes." in text
    )
    assert check_step_form(text, block) == []
    text, block = one_step(
        "big = []\nfor p in patches:\n    if p.width > 10:\n        big.append(p)"
    )
    assert "We go through each item of the patches." in text
    assert "We keep only the items for which the width of the item is greater than 10" in text
    assert check_step_form(text, block) == []


def test_count_and_arithmetic():
    text, block = one_step("total = len(dogs) + 1", {"total": number(4)}, {"dogs": number(3)})
    assert "We count the items of the dogs" in text
    assert "We add the number of items of the dogs" in text and "and 1." in text
    assert text.endswith("This gives 4.")
    assert check_step_form(text, block) == []
    for body, words in (
        ("x = a - b", "We subtract the b from the a."),
        ("x = a * 2", "We multiply the a by 2."),
        ("x = a / 2", "We divide the a by 2."),
        ("x = a % 2", "We take the remainder of the a divided by 2."),
        ("x = -a", "We take the negative of the a."),
        ("x += 2", "We add the x and 2."),
    ):
        text, block = one_step(body)
        assert words in text
        assert check_step_form(text, block) == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("x = dogs[0]", "We take the first item of the dogs."),
        ("x = dogs[-1]", "We take the last item of the dogs."),
        ("x = dogs[9]", "We take item number 10 of the dogs."),
        ("x = max(dogs, key=lambda d: d.width)", "We pick the largest of the dogs by the width"),
        ("x = min(depths)", "We pick the smallest of the depths."),
    ],
)
def test_selection(body, words):
    text, block = one_step(body)
    assert words in text
    assert check_step_form(text, block) == []


def test_sort_states_its_direction():
    ascending, block = one_step("x = sorted(dogs, key=lambda d: d.horizontal_center)")
    assert "We sort the dogs by the horizontal centre of the item, from smallest to largest." in (
        ascending
    )
    assert check_step_form(ascending, block) == []
    descending, _ = one_step("dogs.sort(key=lambda d: d.upper, reverse=True)")
    assert "We sort the dogs by the top edge of the item, from largest to smallest." in descending


@pytest.mark.parametrize(
    ("body", "kind", "words"),
    [
        ("x = any(d.width > 5 for d in dogs)", "any", "We check whether any of the items"),
        ("x = all(d.width > 5 for d in dogs)", "all", "We check whether all of the items"),
        ("x = not any(d.width > 5 for d in dogs)", "none", "We check that none of the items"),
    ],
)
def test_any_all_none(body, kind, words):
    text, block = one_step(body)
    assert words in text and "the width of the item is greater than 5" in text
    assert check_step_form(text, block) == []


def test_negation_combination_branch_and_answer():
    text, block = one_step("if not found and count > 0:\n    return 'yes'\nreturn 'no'")
    assert "We require both not (the found holds) and the count is greater than 0." in text
    assert "We negate it: not the found holds." in text
    assert "The code that follows runs only if that holds." in text
    assert 'We give "yes" as the answer.' in text and 'We give "no" as the answer.' in text
    assert check_step_form(text, block) == []
    text, _ = one_step("if a or b:\n    return 1")
    assert "We accept either the a holds or the b holds." in text


def test_a_call_reads_by_what_answers_it_with_its_region_and_result():
    call = {
        "method": "exists",
        "args": {"object_name": {"type": "str", "value": "dog"}},
        "result": {"type": "bool", "value": False},
        "image": "x",
        "box": [0, 0, 64, 48],
    }
    variables = {
        "image_patch": {"type": "ImagePatch", "image": "x", "box": [0, 0, 64, 48]},
        "has_dog": {"type": "bool", "value": False},
    }
    text, block = one_step(
        "image_patch = ImagePatch(image)\nhas_dog = image_patch.exists('dog')",
        variables,
        calls=[call],
    )
    assert text == (
        "In this step, we use an object detector to check whether there is a dog in the region "
        "at (0, 0, 64, 48): the answer is no. This gives a region at (0, 0, 64, 48) and false."
    )
    assert check_step_form(text, block) == []


def test_failures_are_described_faithfully_without_code_names():
    error = {"type": "ZeroDivisionError", "message": "division by zero"}
    text, block = one_step("ratio = total / count", error=error)
    assert text.endswith('This step fails because it divides by zero ("division by zero").')
    assert check_step_form(text, block) == []
    error = {"type": "NameError", "message": "name 'total' is not defined"}
    text, block = one_step("ratio = total / count", error=error)
    assert text.endswith("This step fails because it uses a value that was never defined.")
    assert check_step_form(text, block) == []


def test_the_converter_implements_the_step_converter_interface(run_on):
    run = run_on((ROOT / "examples" / "least_to_most.py").read_text(encoding="utf-8"))
    converter = TemplateConverter()
    assert converter.name == "template"
    last = len(run.blocks) - 1
    texts = [
        converter.convert(
            StepContext(
                query="Is there a circle left of the centre?",
                block=block,
                trace=trace,
                result=run.result_summary if block.index == last else None,
                extra={"values": known_values(run, block.index)},
            )
        )
        for block, trace in zip(run.program.blocks, run.blocks)
    ]
    assert texts == run_steps(run)
    assert texts[-1].endswith('The final answer is "yes".')
    assert all(check_step_form(text, block) == [] for text, block in zip(texts, run.program.blocks))


# --- the form check finds each broken rule ---------------------------------------------------------


def test_check_step_form_reports_each_broken_rule():
    _, block = one_step("red_dogs = [d for d in dogs if d.verify_property('dog', 'red')]")
    good = (
        "In this step, we use a visual question answering model. We keep only the items of the "
        "dogs for which it says yes."
    )
    assert check_step_form(good, block) == []
    assert check_step_form(good.replace("In this step, we use", "First we take"), block) == [
        'does not begin with "In this step, we use"'
    ]
    assert check_step_form(good + " This gives red_dogs.", block) == [
        "quotes the variable name 'red_dogs'"
    ]
    assert check_step_form(good + " It uses `dogs`.", block) == ["quotes the variable name 'dogs'"]
    assert check_step_form(good + " It uses verify_property.", block) == [
        "quotes the API method name 'verify_property'"
    ]
    assert check_step_form(good + " It calls find(x).", block) == [
        "quotes the API method name 'find'"
    ]
    assert check_step_form(good.replace("We keep only", "We take only"), block) == [
        "does not state the filter operation (keep)"
    ]
    assert check_step_form(good + " We find the dogs.", block) == [], "plain words are prose"


def test_the_ten_steps_in_docs_are_in_step_with_their_script():
    import runpy

    script = runpy.run_path(str(ROOT / "scripts" / "cot_examples.py"), run_name="cot_examples")
    doc = (ROOT / "docs" / "cot.md").read_text(encoding="utf-8")
    assert script["document"](doc, script["examples_markdown"]()) == doc, (
        "run: python scripts/cot_examples.py --write"
    )
    assert doc.count("\n### ") == 10


def test_every_step_of_the_benchmark_programs_and_their_faults_meets_the_form():
    """The label-quality generator's programs, correct and with every recorded fault."""
    from vipexec.benchmark.quality import QualityConfig, generate

    config = QualityConfig(scenes=3, faults_per_instance=50, noisy=False)
    steps = 0
    variants = set()
    for _query, _instance, variant, _fault, run, _world in generate(config):
        variants.add(variant)
        for block, text in zip(run.program.blocks, run_steps(run)):
            steps += 1
            assert check_step_form(text, block) == [], (block.source, text)
    assert steps > 300
    assert {"operator", "negation", "off_by_one", "wrong_variable", "syntax"} <= variants
