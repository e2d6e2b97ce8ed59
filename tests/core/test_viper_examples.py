"""The example programs of ViperGPT's public API prompt, run through Program.run on the fake API.

Each program below restates one docstring example of ``prompts/api.prompt`` in
cvlab-columbia/viper (same API calls and logic, our own wording). Every one must run in the
sandbox, give the expected answer on a small fake scene, and leave per-block variables in its
trace.
"""

import pytest

from vipexec import Program
from vipexec.testing import FakeImagePatch, FakeScene, fake_namespace


def scene():
    return (
        FakeScene(200, 100)
        .add("foo", (10, 10, 30, 30), "gold", depth=3.0)
        .add("garply bar", (40, 10, 60, 30))
        .add("letters", (70, 60, 90, 80), "blue")
        .add("baz", (100, 10, 120, 30), "fredding")
        .add("baz", (130, 10, 150, 30), answers={"baz": "tabby baz"})
        .add("bar", (20, 40, 30, 50), depth=2.0)
        .add("bar", (5, 40, 15, 50), answers={"quuxy": "yes"}, depth=9.0)
        .add("bar", (160, 40, 170, 50), depth=1.0)
        .add("qux", (10, 60, 40, 70))
        .add("black foo", (15, 80, 25, 90))
        .add("building", (150, 60, 190, 95), answers={"name": "Flatiron"})
        .add("object", (100, 60, 120, 80), answers={"name": "telephone"})
    )


EXAMPLES = {
    "find": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    foos = patch.find('foo')\n"
        "    return foos\n",
        lambda r: [p.left for p in r] == [10, 15],  # "black foo" is a foo too
    ),
    "exists": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    has_foo = patch.exists('foo')\n"
        "    has_garply = patch.exists('garply bar')\n"
        "    return bool_to_yesno(has_foo and has_garply)\n",
        lambda r: r == "yes",
    ),
    "verify_property": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    letter_patches = patch.find('letters')\n"
        "    # the question presumes a single patch of letters\n"
        "    return bool_to_yesno(letter_patches[0].verify_property('letters', 'blue'))\n",
        lambda r: r == "yes",
    ),
    "best_text_match": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    foos = patch.find('foo')\n"
        "    return foos[0].best_text_match(['gold', 'white'])\n",
        lambda r: r == "gold",
    ),
    "simple_query_loop": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    bazs = patch.find('baz')\n"
        "    for baz in bazs:\n"
        "        if not baz.verify_property('baz', 'fredding'):\n"
        "            return baz.simple_query('What is this baz?')\n",
        lambda r: r == "tabby baz",
    ),
    "simple_query_color": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    foos = patch.find('foo')\n"
        "    first = foos[0]\n"
        "    return first.simple_query('What is the color?')\n",
        lambda r: r == "gold",
    ),
    "simple_query_sorted": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    bars = patch.find('bar')\n"
        "    bars.sort(key=lambda b: b.horizontal_center)\n"
        "    second = bars[1]\n"
        "    return second.simple_query('Is the bar quuxy?')\n",
        lambda r: r == "bar",
    ),
    "compute_depth": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    bars = patch.find('bar')\n"
        "    bars.sort(key=lambda b: b.compute_depth())\n"
        "    return bars[-1]\n",
        lambda r: r.left == 5,
    ),
    "llm_query_city": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    buildings = patch.find('building')\n"
        "    building = buildings[0]\n"
        "    name = building.simple_query('What is the name of the building?')\n"
        "    return building.llm_query(f'What city is {name} in?', long_answer=False)\n",
        lambda r: r == "in",
    ),
    "llm_query_inventor": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    objects = patch.find('object')\n"
        "    thing = objects[0]\n"
        "    name = thing.simple_query('What is the name of the object?')\n"
        "    return thing.llm_query(f'Who invented {name}?', long_answer=False)\n",
        lambda r: r == "telephone",
    ),
    "llm_query_history": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    objects = patch.find('object')\n"
        "    thing = objects[0]\n"
        "    name = thing.simple_query('What is the name of the object?')\n"
        "    return thing.llm_query(f'What is the history behind {name}?', long_answer=True)\n",
        lambda r: r == "answer to: What is the history behind telephone?",
    ),
    "distance": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    quxs = patch.find('qux')\n"
        "    foos = patch.find('foo')\n"
        "    foo = foos[0]\n"
        "    quxs.sort(key=lambda q: distance(q, foo))\n"
        "    return quxs[0]\n",
        lambda r: r.left == 10,
    ),
    "overlaps_with_fixed": (
        "def execute_command(image):\n"
        "    patch = ImagePatch(image)\n"
        "    quxs = patch.find('qux')\n"
        "    qux = quxs[0]\n"
        "    foos = patch.find('black foo')\n"
        "    for foo in foos:\n"
        "        if foo.vertical_center > qux.vertical_center:\n"
        "            return foo\n",
        lambda r: r.left == 15,
    ),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_prompt_example_runs_sandboxed(name):
    source, check = EXAMPLES[name]
    run = Program.from_source(source, name=name).run_in_process(
        namespace=fake_namespace(), inputs={"image": scene()}
    )
    assert run.ok, run.error
    assert check(run.result)
    assert all(block.status == "ok" for block in run.blocks if block.executions)
    assert any(block.variables for block in run.blocks)
    patch_vars = [
        value
        for block in run.blocks
        for value in block.variables.values()
        if value["type"] == "FakeImagePatch"
    ]
    assert patch_vars and all("box" in value for value in patch_vars)


def test_prompt_example_with_a_missing_colon_is_a_compile_error():
    # The overlaps_with example in the prompt lacks the colon after its `if`.
    source = EXAMPLES["overlaps_with_fixed"][0].replace(
        "qux.vertical_center:", "qux.vertical_center"
    )
    run = Program.from_source(source).run_in_process(
        namespace=fake_namespace(), inputs={"image": scene()}
    )
    assert (run.error.kind, run.error.line, run.error.block) == ("compile", 7, 4)


VIDEO_EXAMPLES = {
    "frame_from_index": (
        "def execute_command(video):\n"
        "    segment = VideoSegment(video)\n"
        "    for i, frame in enumerate(segment.frame_iterator()):\n"
        "        if frame.exists('bar'):\n"
        "            after = segment.frame_from_index(i + 1)\n"
        "            return after.exists('foo')\n",
        True,
    ),
    "trim": (
        "def execute_command(video):\n"
        "    segment = VideoSegment(video)\n"
        "    second_half = segment.trim(segment.num_frames // 2, segment.num_frames)\n"
        "    return second_half.num_frames\n",
        2,
    ),
    "frame_iterator": (
        "def execute_command(video):\n"
        "    segment = VideoSegment(video)\n"
        "    for i, frame in enumerate(segment.frame_iterator()):\n"
        "        if frame.exists('kid') and frame.exists('cat') and "
        "frame.simple_query('Is the kid kissing the cat?') == 'yes':\n"
        "            return i\n",
        3,
    ),
}


def video():
    frames = [FakeScene(50, 50) for _ in range(4)]
    frames[1] = frames[1].add("bar", (0, 0, 5, 5))
    frames[2] = frames[2].add("foo", (0, 0, 5, 5))
    frames[3] = frames[3].add("kid", (0, 0, 50, 50), answers={"kissing": "yes"})
    frames[3] = frames[3].add("cat", (5, 5, 9, 9))
    return frames


@pytest.mark.parametrize("name", sorted(VIDEO_EXAMPLES))
def test_prompt_video_example_runs_sandboxed(name):
    source, expected = VIDEO_EXAMPLES[name]
    run = Program.from_source(source, name=name).run_in_process(
        namespace=fake_namespace(), inputs={"video": video()}
    )
    assert run.ok, run.error
    assert run.result == expected
    assert any(block.variables for block in run.blocks)


def test_fake_patches_pass_through_the_trusted_mode_unchanged():
    patch = FakeImagePatch(scene())
    run = Program.from_source(EXAMPLES["find"][0]).run_in_process(
        namespace=fake_namespace(), inputs={"image": patch}, policy=False
    )
    assert isinstance(run.result[0], FakeImagePatch)
