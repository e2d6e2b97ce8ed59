"""Logic labels: format checks, grounding, loops, tallies and glue tests, with exact labels."""

from __future__ import annotations

import pytest

from vipexec.labelers.base import LabelContext
from vipexec.labelers.logic import LogicLabeler
from vipexec.labelers.logic.query import parse_query

AND_PROGRAM = """def execute_command(image):
    # Step 1: look for red circles
    image_patch = ImagePatch(image)
    red_circles = image_patch.find("red circle")
    # Step 2: look for blue squares
    blue_squares = image_patch.find("blue square")
    # Step 3: check that both are present
    both = len(red_circles) > 0 and len(blue_squares) > 0
    # Step 4: answer yes or no
    answer = bool_to_yesno(both)
    return answer
"""
AND_QUERY = "Is there a red circle and a blue square?"

COUNT_PROGRAM = """def execute_command(image):
    # Step 1: find the circles
    image_patch = ImagePatch(image)
    circle_patches = image_patch.find("circle")
    # Step 2: keep the red ones
    red_circles = []
    for patch in circle_patches:
        # Step 3: check the colour of each circle
        if patch.verify_property("circle", "red"):
            red_circles.append(patch)
    # Step 4: count them
    count = len(red_circles)
    return count
"""
COUNT_QUERY = "How many red circles are there?"

labeler = LogicLabeler(max_examples=40)


def logic(run, query=None):
    return labeler.label(run, LabelContext(query=query))


def vals(labels):
    return [label.value for label in labels]


# --- the query spec --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "answer", "tree"),
    [
        ("How many red circles are there?", "count", "count(objects(red circles))"),
        (
            AND_QUERY,
            "yesno",
            "yesno(and(exists(objects(red circle)), exists(objects(blue square))))",
        ),
        (
            "Is there a cat or a dog?",
            "yesno",
            "yesno(or(exists(objects(cat)), exists(objects(dog))))",
        ),
        (
            "Are there more cats than dogs?",
            "yesno",
            "yesno(compare(>, count(objects(cats)), count(objects(dogs))))",
        ),
        ("Are there at least two stars?", "yesno", "yesno(compare(>=, count(objects(stars)), 2))"),
        ("Are there no yellow stars?", "yesno", "yesno(not(exists(objects(yellow stars))))"),
        (
            "Is the cup to the left of the plate?",
            "yesno",
            "yesno(relation(left, the(cup), the(plate)))",
        ),
        ("Is the large circle red or blue?", "options", None),
        ("What is the man holding?", "open", None),
        ("Is the man happy?", "yesno", None),
    ],
)
def test_query_forms(query, answer, tree):
    spec = parse_query(query)
    assert spec.answer == answer
    assert (spec.tree.describe() if spec.tree else None) == tree


# --- glue: operators, off-by-one, wrong variables, negation ----------------------------------


def test_correct_and_program_is_positive_everywhere(run_on):
    labels = logic(run_on(AND_PROGRAM), AND_QUERY)
    assert vals(labels) == [True, True, True, True]
    assert "glue" in labels[2].data["ran"]
    assert "format.answer" in labels[3].data["ran"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (" and len(blue", " or len(blue"),  # wrong operator
        ("len(red_circles) > 0", "len(red_circles) > 1"),  # off by one
        ("len(blue_squares) > 0", "len(red_circles) > 0"),  # wrong variable
    ],
)
def test_faulty_glue_block_is_the_only_negative(run_on, old, new):
    labels = logic(run_on(AND_PROGRAM.replace(old, new)), AND_QUERY)
    assert vals(labels) == [True, True, False, True]
    assert labels[2].text.startswith("glue: with ")
    assert labels[2].data["checks"][0]["data"]["counterexample"]


def test_counterexample_is_shrunk(run_on):
    labels = logic(run_on(AND_PROGRAM.replace(" and len(blue", " or len(blue")), AND_QUERY)
    example = labels[2].data["checks"][0]["data"]["counterexample"]
    assert sorted(example["world"].values()) == [0, 1]  # one kind present, the other absent
    assert example["block"] is True
    assert example["expected"] is False


def test_negated_answer_blames_the_answer_block(run_on):
    source = AND_PROGRAM.replace("bool_to_yesno(both)", "bool_to_yesno(not both)")
    assert vals(logic(run_on(source), AND_QUERY)) == [True, True, True, False]


def test_count_faults(run_on):
    assert vals(logic(run_on(COUNT_PROGRAM), COUNT_QUERY)) == [True, True, True, True]
    wrong_var = COUNT_PROGRAM.replace("count = len(red_circles)", "count = len(circle_patches)")
    assert vals(logic(run_on(wrong_var), COUNT_QUERY)) == [True, True, True, False]
    plus_one = COUNT_PROGRAM.replace("count = len(red_circles)", "count = len(red_circles) + 1")
    assert vals(logic(run_on(plus_one), COUNT_QUERY)) == [True, True, True, False]


def test_wrong_variable_named_for_another_object(run_on):
    source = """def execute_command(image):
    # Step 1: find the red objects
    image_patch = ImagePatch(image)
    red_objects = image_patch.find("red object")
    # Step 2: find the blue objects
    blue_objects = image_patch.find("blue object")
    # Step 3: count each colour
    num_red = len(red_objects)
    num_blue = len(red_objects)
    # Step 4: compare the counts
    return bool_to_yesno(num_red > num_blue)
"""
    query = "Are there more red objects than blue objects?"
    assert vals(logic(run_on(source), query)) == [True, True, False, True]
    swapped = source.replace("num_blue = len(red_objects)", "num_blue = len(blue_objects)")
    assert vals(logic(run_on(swapped), query)) == [True, True, True, True]
    flipped = swapped.replace("num_red > num_blue", "num_red < num_blue")
    assert vals(logic(run_on(flipped), query)) == [True, True, True, False]


def test_spatial_relation(run_on):
    source = """def execute_command(image):
    # Step 1: find the red square
    image_patch = ImagePatch(image)
    red_square = image_patch.find("red square")[0]
    # Step 2: find the red circle
    red_circle = image_patch.find("red circle")[0]
    # Step 3: compare their horizontal positions
    is_left = red_square.horizontal_center < red_circle.horizontal_center
    # Step 4: answer yes or no
    return bool_to_yesno(is_left)
"""
    query = "Is the red square to the left of the red circle?"
    assert vals(logic(run_on(source), query)) == [True, True, True, True]
    flipped = source.replace("horizontal_center < red_circle", "horizontal_center > red_circle")
    assert vals(logic(run_on(flipped), query)) == [True, True, False, True]


# --- grounding, loops, tallies ---------------------------------------------------------------


def test_wrong_attribute_word_fails_the_nested_block_and_its_loop(run_on):
    source = COUNT_PROGRAM.replace('"circle", "red"', '"circle", "blue"')
    labels = logic(run_on(source), COUNT_QUERY)
    assert vals(labels) == [True, False, False, True]
    assert "asks about blue; the query says red" in labels[2].text
    assert labels[1].text.startswith("nested block 2: grounding")


def test_wrong_object_pairing_is_caught_by_phrase(run_on):
    source = AND_PROGRAM.replace('find("blue square")', 'find("blue circle")')
    labels = logic(run_on(source), AND_QUERY)
    assert vals(labels) == [True, False, True, True]
    assert "matches none of the objects the query names" in labels[1].text


def test_index_loop_that_skips_the_last_element(run_on):
    source = COUNT_PROGRAM.replace(
        "    for patch in circle_patches:\n",
        "    for i in range(len(circle_patches) - 1):\n",
    ).replace(
        "        # Step 3: check the colour of each circle\n",
        "        # Step 3: check the colour of each circle\n        patch = circle_patches[i]\n",
    )
    labels = logic(run_on(source), COUNT_QUERY)
    assert labels[1].value is False
    assert "skips the last element" in labels[1].text


def test_tally_that_starts_at_one(run_on):
    source = """def execute_command(image):
    # Step 1: find the circles
    circle_patches = ImagePatch(image).find("circle")
    # Step 2: count the red ones
    num_red = 1
    for patch in circle_patches:
        # Step 3: check the colour of each circle
        if patch.verify_property("circle", "red"):
            num_red += 1
    # Step 4: report the count
    return num_red
"""
    labels = logic(run_on(source), COUNT_QUERY)
    assert vals(labels) == [True, False, True, True]
    assert labels[1].text == "tally: num_red ends at 2 but verify_property() said yes 1 time(s)"
    fixed = source.replace("num_red = 1", "num_red = 0")
    assert vals(logic(run_on(fixed), COUNT_QUERY)) == [True, True, True, True]
    # an increment of 2 is the nested block's fault (and so its loop's)
    doubled = fixed.replace("num_red += 1", "num_red += 2")
    labels = logic(run_on(doubled), COUNT_QUERY)
    assert vals(labels) == [True, False, False, True]
    assert labels[2].text == "tally: num_red ends at 2 but verify_property() said yes 1 time(s)"


# --- format checks on hand-built traces -------------------------------------------------------


FORMAT_PROGRAM = """def execute_command(image):
    # Step 1: count
    count = len(things) - 1
    # Step 2: answer
    return count
"""


def test_negative_count_fails_the_format_check(kit):
    run = kit.hand_run(
        FORMAT_PROGRAM,
        ["ok", "ok"],
        variables={0: {"count": {"type": "int", "value": -1}}},
        result=-1,
    )
    labels = logic(run, "How many things are there?")
    assert vals(labels) == [False, False]
    assert labels[0].text == "format.values: count is a count but holds -1"
    assert labels[1].text.startswith("format.answer: a 'how many' question answered -1")


@pytest.mark.parametrize(
    ("query", "result", "ok"),
    [
        ("Is there a cat?", "yes", True),
        ("Is there a cat?", "maybe", False),
        ("Is there a cat?", True, False),
        ("How many cats are there?", 3, True),
        ("How many cats are there?", "3", True),
        ("Is the cat black or white?", "white", True),
        ("Is the cat black or white?", "grey", False),
    ],
)
def test_answer_form(kit, query, result, ok):
    run = kit.hand_run(
        "def execute_command(image):\n    # Step 1: answer\n    return x\n", ["ok"], result=result
    )
    labels = logic(run, query)
    assert labels[0].value is ok


def test_call_results_against_the_api_contract(kit):
    source = (
        "def execute_command(image):\n    # Step 1: look\n    x = ImagePatch(image).find('cat')\n"
    )
    bad = {"method": "find", "args": {}, "result": {"type": "str", "value": "cat"}}
    run = kit.hand_run(source, ["ok"], calls={0: [bad]})
    labels = logic(run)
    assert labels[0].value is False
    assert "find() gave a str, not a list of patches" in labels[0].text


def test_answer_literal_outside_the_options_is_caught_statically(run_on):
    source = """def execute_command(image):
    # Step 1: find the square
    square = ImagePatch(image).find("large square")[0]
    # Step 2: choose the answer
    if square.verify_property("square", "red"):
        answer = "red"
    else:
        answer = "no"
    return answer
"""
    labels = logic(run_on(source), "Is the large square red or green?")
    assert vals(labels) == [True, False]
    assert "can answer 'no'" in labels[1].text


# --- the None cases ---------------------------------------------------------------------------


def test_unjudged_blocks(kit):
    run = kit.hand_run(
        "def execute_command(image):\n    # Step 1: a\n    x = 1\n    # Step 2: b\n    y = x\n",
        ["ok", "not_run"],
    )
    labels = logic(run, "What is this?")
    assert vals(labels) == [None, None]
    assert labels[0].text == "no logic check applied to this block"


def test_a_query_the_parser_does_not_understand_labels_no_block_positive(run_on):
    labels = logic(run_on(AND_PROGRAM), "What is going on?")
    assert vals(labels) == [None, None, None, None]
    assert labels[0].text.startswith("query not understood; passed only: format")


def test_a_format_fault_is_negative_even_when_the_query_is_not_understood(run_on):
    source = (
        "def execute_command(image):\n"
        "    image_patch = ImagePatch(image)\n"
        '    num_circles = len(image_patch.find("circle")) - 100\n'
        "    return num_circles\n"
    )
    labels = logic(run_on(source), "What is going on?")
    assert vals(labels) == [None, False, None]
    assert "num_circles" in labels[1].text


def test_checks_can_be_chosen():
    with pytest.raises(ValueError, match="unknown logic checks"):
        LogicLabeler(checks=["formats", "magic"])
    assert LogicLabeler(checks=["formats"]).config()["checks"] == ["formats"]


def test_blocks_that_could_build_huge_values_are_not_re_executed(run_on):
    source = AND_PROGRAM.replace(
        "    both = len(red_circles) > 0 and len(blue_squares) > 0\n",
        "    both = len(red_circles) > 0 and len([0] * 10**9 if False else blue_squares) > 0\n",
    )
    labels = logic(run_on(source), AND_QUERY)
    assert "glue" not in labels[2].data["ran"]


def test_a_repeated_glue_search_is_answered_from_memory(run_on, monkeypatch):
    """Programs of one query share glue blocks; the search is a pure function of its key."""
    from vipexec.labelers.logic import glue

    searched = []
    fresh = glue._fresh_search
    monkeypatch.setattr(glue, "_searches", type(glue._searches)())
    monkeypatch.setattr(glue, "_fresh_search", lambda *a: searched.append(a) or fresh(*a))
    faulty = AND_PROGRAM.replace(" and len(blue", " or len(blue")
    first = [logic(run_on(AND_PROGRAM), AND_QUERY)]
    correct_searches = len(searched)
    assert correct_searches >= 2  # step 3's test and step 4's answer
    first.append(logic(run_on(faulty), AND_QUERY))
    assert len(searched) == correct_searches + 1  # only the changed block is searched again
    again = [logic(run_on(source), AND_QUERY) for source in (AND_PROGRAM, faulty)]
    assert len(searched) == correct_searches + 1  # both answered from memory
    assert [[label.to_dict() for label in labels] for labels in again] == [
        [label.to_dict() for label in labels] for labels in first
    ]
    assert vals(again[1]) == [True, True, False, True]
    other_seed = LogicLabeler(max_examples=labeler.max_examples, seed=labeler.seed + 1)
    other_seed.label(run_on(AND_PROGRAM), LabelContext(query=AND_QUERY))
    assert len(searched) > correct_searches + 1  # another seed is another search
