"""Block splitting: both program forms, markers, nesting, fallback, and unusable input."""

from pathlib import Path

import pytest

from vipexec import Program, ProgramSourceError


def steps(program):
    return [(b.index, b.step, b.description, b.lines, b.parent) for b in program.blocks]


def test_function_form_with_markers():
    program = Program.from_source(
        "def execute_command(image, query):\n"
        "    # Step 1: find the cats\n"
        "    cats = image.find('cat')\n"
        "\n"
        "    # Step 2: count them\n"
        "    n = len(cats)\n"
        "    return n\n"
    )
    assert program.form == "function"
    assert program.entry == "execute_command"
    assert program.params == ("image", "query")
    assert steps(program) == [
        (0, 1, "find the cats", (2, 3), None),
        (1, 2, "count them", (5, 7), None),
    ]
    assert program.blocks[0].source == "    # Step 1: find the cats\n    cats = image.find('cat')"
    assert program.blocks[0].writes == ("cats",)
    assert program.blocks[1].reads == ("len", "cats")


def test_script_form_with_markers_and_done_line():
    program = Program.from_source(
        "# Step 1: look\nx = 1\n# Step 2: answer\nprint(x + 1)\nprint('Work is Done!')\n"
    )
    assert program.form == "script"
    assert program.entry is None
    assert steps(program) == [(0, 1, "look", (1, 2), None), (1, 2, "answer", (3, 5), None)]


def test_code_before_the_first_marker_is_its_own_block():
    program = Program.from_source(
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    # Step 1: find\n"
        "    found = patch.find('x')\n"
        "    return found\n"
    )
    assert steps(program) == [(0, None, "", (2, 2), None), (1, 1, "find", (3, 5), None)]


def test_without_markers_each_top_level_statement_is_a_block():
    program = Program.from_source(
        "def execute_command(image):\n"
        "    '''docstrings are not blocks'''\n"
        "    patch = ImagePatch(image)\n"
        "    for p in patch.find('x'):\n"
        "        if p.exists('y'):\n"
        "            return p\n"
        "    return None\n"
    )
    assert steps(program) == [
        (0, None, "", (3, 3), None),
        (1, None, "", (4, 6), None),
        (2, None, "", (7, 7), None),
    ]


def test_marker_inside_a_loop_is_a_nested_block():
    program = Program.from_source(
        "def execute_command(image):\n"
        "    # Step 1: find\n"
        "    cars = image.find('car')\n"
        "    # Step 2: check each\n"
        "    red = []\n"
        "    for car in cars:\n"
        "        size = car.width\n"
        "        # Step 3: check colour\n"
        "        if car.verify_property('car', 'red'):\n"
        "            red.append(car)\n"
        "    # Step 4: answer\n"
        "    return len(red)\n"
    )
    assert steps(program) == [
        (0, 1, "find", (2, 3), None),
        (1, 2, "check each", (4, 10), None),
        (2, 3, "check colour", (8, 10), 1),
        (3, 4, "answer", (11, 12), None),
    ]
    assert program.blocks[1].writes == ("red", "car", "size")


def test_marker_spellings_and_trailing_comments():
    program = Program.from_source(
        "#step 1 - first\na = 1  # Step 9: a trailing comment is not a marker\n"
        "#   STEP 2. second\nb = 2\n# Step 3) third\nc = 3\n"
    )
    assert [(b.step, b.description) for b in program.blocks] == [
        (1, "first"),
        (2, "second"),
        (3, "third"),
    ]


def test_decorated_function_starts_at_its_decorator():
    program = Program.from_source(
        "# Step 1: helper\n@staticmethod\ndef helper(x):\n    return x\n# Step 2: use\ny = helper(1)\n"
    )
    assert [b.lines for b in program.blocks] == [(1, 4), (5, 6)]


def test_segments_tile_the_source_exactly():
    source = (
        "import math\n\ndef execute_command(image):\n    # Step 1: a\n    x = 1\n"
        "    # Step 2: b\n    return x\n\n# trailing comment\n"
    )
    program = Program.from_source(source)
    segments = program.segments()
    assert "".join(segments) == source
    assert segments[0].startswith("import math")
    assert segments[1] == "    # Step 2: b\n    return x\n\n# trailing comment\n"


def test_solve_query_and_explicit_entry():
    assert Program.from_source("def solve_query(image):\n    return 1\n").entry == "solve_query"
    program = Program.from_source("def main(a, *rest, k=1, **kw):\n    return a\n", entry="main")
    assert program.params == ("a", "*rest", "k", "**kw")
    assert program.optional_params == frozenset({"k"})
    with pytest.raises(ProgramSourceError, match="no top-level function named 'nope'"):
        Program.from_source("x = 1\n", entry="nope")


def test_syntax_error_keeps_blocks_and_reports_the_block():
    program = Program.from_source(
        "# Step 1: ok\nx = 1\n# Step 2: broken\nif x > 0\n    y = 2\n# Step 3: after\nz = 3\n"
    )
    assert [b.step for b in program.blocks] == [1, 2, 3]
    problem = program.syntax_error
    assert (problem.kind, problem.line, problem.block) == ("compile", 4, 1)
    assert "expected ':'" in problem.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the program is empty"),
        (b"   \n\n# only a comment\n", "the program is empty"),
        (b"x = '\xff\xfe'\n", r"not UTF-8 text \(byte 0xff on line 1\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary data"),
        ("x = 1\x00", "NUL characters"),
        (b"x = 1\n" * 200_000, "too large for a program"),
    ],
)
def test_unusable_sources_give_one_clear_error(data, message):
    with pytest.raises(ProgramSourceError, match=message):
        Program.from_source(data, name="p.py")


def test_prose_is_a_compile_error_not_a_crash():
    program = Program.from_source("Please count the red circles in the image.\n")
    assert program.syntax_error is not None
    assert program.syntax_error.line == 1


def test_from_file_errors(tmp_path: Path):
    with pytest.raises(ProgramSourceError, match="no such file"):
        Program.from_file(tmp_path / "missing.py")
    with pytest.raises(ProgramSourceError, match="is a directory"):
        Program.from_file(tmp_path)
    path = tmp_path / "ok.py"
    path.write_text("# Step 1: a\nx = 1\n")
    program = Program.from_file(path)
    assert program.name == str(path)
    assert program.blocks[0].step == 1


def test_bom_is_accepted():
    assert Program.from_source(b"\xef\xbb\xbfx = 1\n").source == "x = 1\n"
