"""The compile pipeline's economy: one parse and one token scan per source, compiled code
cached by content, block splitting bounded, and the shortcuts giving what the long way gives."""

import ast
import io
import tokenize

import pytest

import vipexec.core.blocks as blocks
from vipexec import Program
from vipexec.core.blocks import MAX_BLOCK_DEPTH, MAX_BLOCKS, scan_source
from vipexec.core.errors import CompileError, ProgramSourceError
from vipexec.core.names import NameAnalysis


def tokenizer_scan(source):
    """The token-based scan, whatever the source looks like."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    return blocks.SourceScan(*_from_tokens(tokens))


def _from_tokens(tokens):
    markers, code = [], set()
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            match = blocks.MARKER.match(tok.string)
            if match and tok.start[0] not in code:
                markers.append(blocks.Marker(tok.start[0], int(match[1]), match[2]))
        elif tok.type not in blocks._LAYOUT_TOKENS:
            code.update(range(tok.start[0], tok.end[0] + 1))
    return tuple(markers), frozenset(code)


SCAN_CASES = [
    "def execute_command(image):\n    # Step 1: find\n    x = 1\n\n    # step 2 - count\n"
    "    return x  # Step 3: not a marker\n",
    "x = f(\n    # Step 1: inside brackets\n    1,\n)\n# Step 2: after\ny = '# Step 9: in a string'\n",
    "s = f'{1}#x'\n\t# Step 1. tabs\nz = [\n\n    2]\n",
    "# Step 1: a\n#Step 2)b\n   #   STEP 3:   spaced   \nx = 1\n",
]


@pytest.mark.parametrize("source", SCAN_CASES)
def test_the_line_scan_gives_what_the_tokenizer_gives(source):
    assert blocks._SPANS_LINES.search(source) is None  # the fast path applies
    assert scan_source(source) == tokenizer_scan(source)


@pytest.mark.parametrize(
    "source",
    [
        'x = """\n# Step 1: inside a string\n"""\n# Step 2: real\ny = 1\n',
        "x = 1 + \\\n    2\n# Step 1: after a continuation\ny = 1\n",
        "x = 1\r# Step 1: after a lone CR\ry = 2\r",
    ],
)
def test_sources_with_tokens_spanning_lines_are_tokenized(source):
    assert blocks._SPANS_LINES.search(source) is not None
    assert scan_source(source) == tokenizer_scan(source)


def test_a_source_is_parsed_and_scanned_once(monkeypatch):
    # first use imports the sandbox and the hoisting pass
    Program.from_source("def execute_command(x):\n    return len(x)\n").compile(sandbox=True)
    parses, scans = [], []
    real_parse, real_scan = ast.parse, blocks.scan_source
    monkeypatch.setattr(ast, "parse", lambda *a, **k: parses.append(1) or real_parse(*a, **k))
    monkeypatch.setattr(
        "vipexec.core.program.scan_source", lambda s: scans.append(1) or real_scan(s)
    )
    monkeypatch.setattr(
        "vipexec.engine.compiler.scan_source", lambda s: scans.append(1) or real_scan(s)
    )
    source = "def execute_command(image) -> str:\n    # Step 1: x\n    return str(len(image))\n"
    program = Program.from_source(source + "# a text no other test uses\n")
    program.compile(sandbox=True)
    assert (len(parses), len(scans)) == (1, 1)
    # a second mode parses again (the first compile consumed the tree), once
    program.compile(sandbox=False)
    assert (len(parses), len(scans)) == (2, 2)


def test_the_same_program_text_compiles_once_per_process():
    source = "def execute_command(image):\n    # Step 1: x\n    return len(image) + 7\n"
    first = Program.from_source(source, name="cached.py").compile(sandbox=True)
    again = Program.from_source(source, name="cached.py")
    assert again.compile(sandbox=True).code is first.code
    assert again.run_in_process(inputs=["ab"]).result == 9
    # another name is another file name in tracebacks: its own code object
    other = Program.from_source(source, name="other.py").compile(sandbox=True)
    assert other.code is not first.code and other.filename == "<vipexec:other.py>"


def test_a_refused_program_stays_refused_from_the_cache():
    source = "x = ().__class__\n"
    for _ in range(2):
        with pytest.raises(CompileError) as caught:
            Program.from_source(source, name="refused.py").compile(sandbox=True)
        assert caught.value.problems[0].kind == "policy"
        assert caught.value.problems[0].line == 1


def step_blocks(count):
    lines = ["def execute_command(image):", "    total = 0"]
    for step in range(1, count + 1):
        lines += [f"    # Step {step}: add", f"    total += {step}"]
    return "\n".join([*lines, "    return total"]) + "\n"


def test_too_many_blocks_are_refused_naming_the_line():
    with pytest.raises(ProgramSourceError) as caught:
        Program.from_source(step_blocks(4 * MAX_BLOCKS), name="huge.py")
    # block 0 is the code before the first marker: block MAX_BLOCKS + 1 starts at the marker
    # numbered MAX_BLOCKS, and marker k is on line 3 + 2 (k - 1)
    first_refused_marker = 3 + 2 * (MAX_BLOCKS - 1)
    assert str(caught.value) == (
        f"huge.py: line {first_refused_marker}: more than {MAX_BLOCKS} step blocks "
        "(a program has tens)"
    )


def test_blocks_up_to_the_bound_are_accepted():
    program = Program.from_source(step_blocks(MAX_BLOCKS - 1))
    assert len(program.blocks) == MAX_BLOCKS  # the code before the first marker is a block


def test_statements_without_markers_count_as_blocks_too():
    source = "".join(f"x{i} = {i}\n" for i in range(MAX_BLOCKS + 1))
    with pytest.raises(ProgramSourceError, match=f"line {MAX_BLOCKS + 1}: more than"):
        Program.from_source(source)


def test_unparsable_sources_are_bounded_too():
    source = step_blocks(MAX_BLOCKS + 10) + "def broken(:\n"
    with pytest.raises(ProgramSourceError, match="more than 5000 step blocks"):
        Program.from_source(source)


def test_nesting_deeper_than_the_bound_is_refused_naming_the_line():
    lines = ["def execute_command(image):"]
    for level in range(MAX_BLOCK_DEPTH + 2):
        indent = "    " * (level + 1)
        lines += [f"{indent}# Step {level + 1}: level {level}", f"{indent}for x{level} in [1]:"]
    lines.append("    " * (MAX_BLOCK_DEPTH + 3) + "pass")
    with pytest.raises(ProgramSourceError) as caught:
        Program.from_source("\n".join(lines) + "\n", name="deep.py")
    line = 2 + 2 * MAX_BLOCK_DEPTH
    assert str(caught.value) == (
        f"deep.py: line {line}: step blocks nested more than {MAX_BLOCK_DEPTH} levels deep"
    )


def test_splitting_asks_for_each_statements_marker_once(monkeypatch):
    """Linear work: one marker look-up per statement, whatever the number of blocks."""
    calls = []
    real = blocks.SourceScan.marker_before
    monkeypatch.setattr(
        blocks.SourceScan,
        "marker_before",
        lambda self, line: calls.append(line) or real(self, line),
    )
    for count in (100, 400):
        calls.clear()
        Program.from_source(step_blocks(count) + f"# {count}\n")
        statements = count + 2
        assert len(calls) <= statements + 1  # +1: the entry body's "has markers" probe


@pytest.mark.parametrize(
    ("source", "writes", "reads"),
    [
        ("y = [v := x for x in xs]\n", ("y", "v"), ("x", "xs")),
        ("f = lambda a: (b := a)\n", ("f",), ("a",)),
        ("def g(n=len(z)):\n    q = n\n", ("g",), ("len", "z", "n")),
        ("for i in range(n):\n    t = t + i\n", ("i", "t"), ("range", "n")),
        ("x = x + 1\nx = x * 2\n", ("x",), ("x",)),
        ("import os.path as p, json\n", ("p", "json"), ()),
    ],
)
def test_name_analysis(source, writes, reads):
    tree = ast.parse(source)
    names = NameAnalysis(tree)
    assert names.writes(tree.body) == writes
    assert names.reads(tree.body) == reads
