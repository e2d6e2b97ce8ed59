"""Reading one block out of a chat model's answer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vipexec.core.program import Program
from vipexec.generate.blocks import failing_block, is_final, normalise, read_block

FIRST = '# Step 1: find the circles\ncircles = ImagePatch(image).find("circle")\n'
SECOND = "# Step 2: count them\nprint(len(circles))\nprint('Work is Done!')\n"


def test_a_clean_block_is_taken_as_is():
    read = read_block(SECOND, 2, [FIRST])
    assert read == read_block(SECOND, 2, [FIRST])
    assert (read.text, read.problem, read.renumbered_from) == (SECOND, None, None)


def test_fences_and_prose_around_the_code_are_dropped():
    answer = f"Sure! Here is the next step:\n```python\n{SECOND}```\nThis prints the count."
    assert read_block(answer, 2, [FIRST]).text == SECOND


def test_prose_after_unfenced_code_is_cut():
    answer = SECOND + "\nThis step prints how many circles there are.\n"
    assert read_block(answer, 2, [FIRST]).text == SECOND


def test_the_first_new_block_is_taken_when_the_answer_repeats_earlier_ones():
    third = "# Step 3: done\nprint('Work is Done!')\n"
    answer = f"```python\n{FIRST}\n{SECOND}{third}```"
    assert read_block(answer, 2, [FIRST]).text == SECOND


def test_rewritten_earlier_steps_do_not_hide_the_new_one():
    rewritten = FIRST.replace("find the circles", "locate circles")
    read = read_block(rewritten + SECOND, 2, [FIRST])
    assert read.text == SECOND and read.renumbered_from is None


def test_a_wrong_step_number_is_renumbered_and_recorded():
    read = read_block(SECOND.replace("Step 2", "Step 7"), 2, [FIRST])
    assert read.text == SECOND and read.renumbered_from == 7 and read.problem is None


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("I cannot answer that.", "no '# Step' line"),
        ("print(len(circles))", "no '# Step' line"),
        ("", "no '# Step' line"),
        ("# Step 2: count\n", "a '# Step' line without code"),
        ("# Step 2: count\nprint(len(circles)\n", "the code does not parse"),
        ("# Step 2: nested\n    x = 1\n", "the code does not parse"),
        (FIRST, "repeats the blocks so far"),
    ],
)
def test_malformed_answers_become_failing_blocks(answer, problem):
    read = read_block(answer, 2, [FIRST])
    assert read.problem == problem
    assert read.text == failing_block(2, answer, problem)
    program = Program.from_source(FIRST + read.text)
    assert program.syntax_error is None
    assert [block.step for block in program.blocks] == [1, 2]
    run = program.run_in_process({"ImagePatch": lambda image: _Finder()}, {"image": None})
    assert run.error.type == "RuntimeError" and run.error.block == 1
    assert run.error.message == f"malformed block from the generator: {problem}"


class _Finder:
    def find(self, name):
        return [name]


def test_a_failing_block_keeps_the_answer_as_comments():
    answer = "line one\n# Step 9: a marker inside the answer\n" + "x\n" * 50
    block = failing_block(3, answer, "why")
    lines = block.splitlines()
    assert lines[0] == "# Step 3: (malformed answer)"
    assert lines[1:3] == ["# | line one", "# | # Step 9: a marker inside the answer"]
    assert "# | ... (12 more lines)" in lines
    assert [b.step for b in Program.from_source(block).blocks] == [3]


def test_final_blocks_and_normalised_text():
    assert is_final(SECOND) and is_final('print("Work is Done!")')
    assert not is_final(FIRST) and not is_final("print('Work is not Done!')")
    assert normalise("# Step 1:  a\n\nx  =  1   \n  y = 2\n") == "# Step 1: a\nx = 1\n  y = 2"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["# Step 2: go", "# Step 1: find", "# step 3 - more", "```python", "```", "x = 1",
             "print('Work is Done!')", "    y = (", "Sure, here it is:", "", "for a in b:",
             "    pass", "\t# Step 4: nested", "raise ValueError('x')", '"""', "# | note"]
        ),
        max_size=12,
    ).map("\n".join)
    | st.text(max_size=200)
)  # fmt: skip
def test_any_answer_gives_one_block_that_parses(answer):
    read = read_block(answer, 2, [FIRST])
    program = Program.from_source(FIRST + read.text)
    assert program.syntax_error is None
    top = [block for block in program.blocks if block.parent is None]
    assert [block.step for block in top] == [1, 2]
    assert (read.problem is None) == (not read.text.startswith("# Step 2: (malformed answer)"))
