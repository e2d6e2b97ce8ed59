"""API argument bounds: an oversize argument is refused with ArgumentTooLarge (a ValueError)
naming the method, the argument and the bound, before the call reaches the backend."""

import pytest

from vipexec.modules import bounds
from vipexec.modules.errors import ArgumentTooLarge


@pytest.fixture
def patch(api, store, rendered_scene):
    return api["ImagePatch"](store.add(rendered_scene(3).image))


def over(limit):
    return "a" * (limit + 1)


def test_simple_query_question_bound(patch):
    with pytest.raises(ArgumentTooLarge, match=r"^simple_query: question is longer than 2,000"):
        patch.simple_query("is the zzz " + "red " * 3000)
    assert patch.simple_query("is it " + "red " * 400)  # under the bound: answered


def test_llm_query_question_bound(api, patch):
    with pytest.raises(ArgumentTooLarge, match=r"^llm_query: question is longer than 10,000"):
        api["llm_query"]("1" * (bounds.MAX_PROMPT_CHARS + 1))
    with pytest.raises(ArgumentTooLarge, match=r"^llm_query: question"):
        patch.llm_query("1" * (bounds.MAX_PROMPT_CHARS + 1))
    assert api["llm_query"]("1" * bounds.MAX_PROMPT_CHARS).startswith("unknown:")


@pytest.mark.parametrize("method", ["find", "exists"])
def test_object_name_bound(patch, method):
    with pytest.raises(ArgumentTooLarge, match=f"^{method}: object_name is longer than 500"):
        getattr(patch, method)(over(bounds.MAX_PHRASE_CHARS))


def test_verify_property_bounds(patch):
    with pytest.raises(ArgumentTooLarge, match=r"^verify_property: property is longer"):
        patch.verify_property("circle", over(bounds.MAX_PHRASE_CHARS))
    with pytest.raises(ArgumentTooLarge, match=r"^verify_property: object_name is longer"):
        patch.verify_property(over(bounds.MAX_PHRASE_CHARS), "red")


def test_best_text_match_bounds(patch):
    with pytest.raises(ArgumentTooLarge, match=r"^best_text_match: options has 101 items"):
        patch.best_text_match(["red"] * (bounds.MAX_OPTIONS + 1))
    with pytest.raises(ArgumentTooLarge, match=r"^best_text_match: options is longer"):
        patch.best_text_match(["red", over(bounds.MAX_PHRASE_CHARS)])
    with pytest.raises(ArgumentTooLarge, match=r"^best_text_match: prefix is longer"):
        patch.best_text_match(["red"], prefix=over(bounds.MAX_PHRASE_CHARS))


def test_best_image_match_bounds(api, patch):
    match = api["best_image_match"]
    with pytest.raises(ArgumentTooLarge, match=r"^best_image_match: list_patches has 1,001 items"):
        match([patch] * (bounds.MAX_PATCHES + 1), ["red"])
    with pytest.raises(ArgumentTooLarge, match=r"^best_image_match: content has 101 items"):
        match([patch], ["red"] * (bounds.MAX_OPTIONS + 1))
    with pytest.raises(ArgumentTooLarge, match=r"^best_image_match: content is longer"):
        match([patch], [over(bounds.MAX_PHRASE_CHARS)])
    assert match([patch] * bounds.MAX_PATCHES, ["red"] * bounds.MAX_OPTIONS, True) == 0


def test_select_answer_bounds(api, store, rendered_scene):
    video = store.add_video([rendered_scene(3).image] * 2)
    segment = api["VideoSegment"](video)
    with pytest.raises(ArgumentTooLarge, match=r"^select_answer: question is longer than 2,000"):
        segment.select_answer({}, over(bounds.MAX_QUESTION_CHARS), ["a"])
    with pytest.raises(ArgumentTooLarge, match=r"^select_answer: options has 101 items"):
        segment.select_answer({}, "q", ["a"] * (bounds.MAX_OPTIONS + 1))
    with pytest.raises(ArgumentTooLarge, match=r"^select_answer: info holds more than 1,000 items"):
        segment.select_answer({"facts": ["x"] * bounds.MAX_INFO_ITEMS}, "q", ["a"])
    with pytest.raises(ArgumentTooLarge, match=r"^select_answer: info holds more than 100,000"):
        segment.select_answer({"facts": ["x" * 60_000] * 2}, "q", ["a"])
    assert segment.select_answer({"color": "red"}, "q", ["blue", "red"]) == "red"


def test_the_bound_is_a_value_error_the_program_can_catch(api, store, rendered_scene):
    from vipexec import Program

    source = (
        "def execute_command(image):\n"
        "    try:\n"
        "        ImagePatch(image).simple_query('x' * 5000)\n"
        "    except ValueError as error:\n"
        "        return str(error)\n"
        "    return 'not caught'\n"
    )
    image = store.add(rendered_scene(3).image)
    run = Program.from_source(source).run_in_process(
        namespace=api, inputs={"image": image}, policy=True
    )
    assert run.error is None, run.error
    assert run.result == "simple_query: question is longer than 2,000 characters (5,000)"


def test_the_parent_checks_the_bounds_too(store, rendered_scene):
    """A worker that skipped the program-side check still gets refused by the dispatcher."""
    from vipexec.modules.dispatch import LocalDispatcher
    from vipexec.modules.synthetic.backend import SyntheticBackend

    dispatcher = LocalDispatcher(SyntheticBackend(), store)
    image = store.add(rendered_scene(3).image)
    served = dispatcher.serve("simple_query", image.id, (0, 0, 10, 10), {"question": "x" * 2001})
    assert served.error_type == "ArgumentTooLarge"
    assert "simple_query: question is longer than 2,000 characters" in served.error


def test_the_issue_programs_finish_in_a_sandbox_worker(rendered_scene):
    """The calls that cost minutes in the parent: refused at the bound, or answered at once."""
    import numpy as np

    import vipexec

    sandbox = vipexec.Sandbox(workers=1, timeout=10)
    try:
        image = sandbox.images.add(np.asarray(rendered_scene(3).image))
        run = sandbox.run("def execute_command():\n    return llm_query('1' * 8000)\n")
        assert run.ok and run.result.startswith("unknown:")
        run = sandbox.run(
            "def execute_command(image):\n"
            "    return ImagePatch(image).simple_query('is the zzz ' + 'red ' * 3000)\n",
            inputs={"image": image},
        )
        assert run.error.kind == "runtime"
        assert "simple_query: question is longer than 2,000 characters (12,011)" in str(run.error)
        run = sandbox.run(
            "def execute_command(image):\n"
            "    p = ImagePatch(image)\n"
            "    return best_image_match([p] * 20000, ['large red circle ' * 100] * 20, True)\n",
            inputs={"image": image},
        )
        assert run.error.kind == "runtime"
        assert "best_image_match: list_patches has 20,000 items, more than 1,000" in str(run.error)
    finally:
        sandbox.close()
