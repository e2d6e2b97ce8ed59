"""The synthetic backend's text and matching paths are linear in their input.

Linearity guards (marked below): each input is one that took seconds to minutes (or hours)
when the path was quadratic, and takes milliseconds now; the tests run them past the API bounds
(calling the backend directly) without timing them, so a quadratic regression shows up as a
suite that hangs for minutes, never as a flaky timing assertion. The margin is > 100x.
Equivalence: the linear rewrites answer exactly what the former per-cut parsing answered.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vipexec.modules.synthetic import language
from vipexec.modules.synthetic.backend import SyntheticBackend
from vipexec.modules.synthetic.vision import pixel_digest


@pytest.fixture(scope="module")
def scene(rendered_scene):
    image = np.asarray(rendered_scene(3).image).copy()
    image.setflags(write=False)
    return image, (0, 0, image.shape[1], image.shape[0])


# --- linearity guards (quadratic before: minutes to hours at these sizes) ----------------------


def test_llm_query_over_a_long_digit_run():
    """'1' * 8000 took 30 s (a number regex retried from every digit); this is 100k digits."""
    assert SyntheticBackend().llm_query("1" * 100_000, True).startswith("unknown:")
    assert SyntheticBackend().llm_query("?" * 100_000 + "x", True).startswith("unknown:")


def test_llm_query_still_answers_arithmetic():
    backend = SyntheticBackend()
    assert backend.llm_query("What is 5-3?", True) == "2"
    assert backend.llm_query("sum of 5, -3 and 1,000", True) == "1002"
    assert backend.llm_query("Is 12 greater than 7?", True) == "yes"
    assert backend.llm_query("which is smaller, 2.5 or 3", True) == "2.5"


def test_simple_query_with_a_long_attribute_run(scene):
    """'is the zzz ' + 'red ' * 3000 took 12 s (each cut re-parsed the subject); 30,000 here."""
    image, box = scene
    answer = SyntheticBackend().simple_query(image, box, "is the zzz " + "red " * 30_000)
    assert answer.startswith("unknown:")


def test_best_image_match_with_many_patches_and_long_texts(scene):
    """[p] * 20000 with 20 long texts took 146 s (every text parsed per patch and per object)."""
    image, box = scene
    crops = [(image, box)] * 20_000
    assert SyntheticBackend().best_image_match(crops, ["large red circle " * 500] * 20) == 0


def test_phrases_with_a_run_of_opening_quotes(scene):
    """A run of opening quotes with no closing one made every quote search quadratic (find,
    verify_property, best_text_match, best_image_match, simple_query: seconds at 2,000
    characters, minutes at 16,000); 100,000 here."""
    image, box = scene
    backend, text = SyntheticBackend(), "dog " + "“" * 100_000
    assert backend.find(image, box, text) == []
    assert backend.verify_property(image, box, text, text) is False
    assert backend.best_text_match(image, box, [text, "red"], text) in (text, "red")
    assert backend.best_image_match([(image, box)], [text]) == 0


def test_select_answer_with_many_facts_and_options():
    facts = {"seen": ["a red circle " * 10] * 1_000}
    assert language.select_answer(facts, ["red"] * 100 + ["circle"]) == "red"


# --- the rewrites answer what the former code answered ---------------------------------------


def quadratic_subject_and_attribute(words):
    """The former per-cut search, kept as the reference."""
    for cut in range(len(words) - 1, 0, -1):
        subject, attribute = " ".join(words[:cut]), " ".join(words[cut:])
        tokens = [w for w in language._WORD.findall(attribute) if w not in language.FILLER]
        if (
            tokens
            and all(language._is_attribute_word(t) for t in tokens)
            and not language.parse_phrase(subject).unknown
        ):
            return subject, attribute
    return None


VOCABULARY = [
    "red", "blue", "big", "small", "circle", "square", "the", "a", "of", "with", "labelled",
    "written", "text", "zzz", "dog", "'ab'", "'x", "y'", "“ab”", "'", "ab", "1", "shape",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY), max_size=10))
def test_subject_and_attribute_matches_the_per_cut_search(words):
    assert language._subject_and_attribute(words) == quadratic_subject_and_attribute(words)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab '\"“”‘’", max_size=12))
def test_the_bounded_quote_search_finds_what_the_plain_search_finds(text):
    found, expected = language._search_quoted(text), language._QUOTED.search(text)
    assert (found and found.span()) == (expected and expected.span())


def test_subject_and_attribute_examples():
    split = language._subject_and_attribute
    assert split("big circle red".split()) == ("big circle", "red")
    assert split("circle labelled 'ab' red".split()) == ("circle labelled 'ab'", "red")
    assert split("zzz red".split()) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*VOCABULARY, "green", "triangle", "large"]), max_size=12))
def test_option_words_score_like_word_by_word_scoring(words):
    from vipexec.modules.synthetic.vision import Blob

    option = " ".join(words)
    for blob in (
        Blob(0, "red", "circle", 1.0, "large", (0, 0, 1, 1), 1, 1.0, "AB"),
        Blob(1, "blue", "square", 1.0, "small", (0, 0, 1, 1), 1, 1.0, ""),
    ):
        expected = 3.0 if blob.text and option.strip().strip("\"'").upper() == blob.text else 0.0
        for word in language._WORD.findall(option.lower()):
            for table, own, weight in (
                (language.COLOR_WORDS, blob.color, 2.0),
                (language.SHAPE_WORDS, blob.shape, 2.0),
                (language.SIZE_WORDS, blob.size, 1.0),
            ):
                if word in table:
                    expected += weight if table[word] == own else -weight
                    break
            else:
                if word in language.TEXT_NOUNS or word in language.TEXT_ADJECTIVES:
                    expected += 0.5 if blob.text else -0.5
        quoted = language._QUOTED.search(option)
        if quoted and blob.text:
            expected += 3.0 if quoted.group(1).strip().upper() == blob.text else -1.0
        assert language.score_option(option, blob) == expected


# --- image digests -----------------------------------------------------------------------------


def test_a_read_only_image_is_hashed_once(scene, monkeypatch):
    from vipexec.modules.synthetic import vision

    image, _ = scene
    first = pixel_digest(image)
    hashed = []
    monkeypatch.setattr(vision, "_digest", lambda array: hashed.append(1) or b"")
    assert pixel_digest(image) == first
    assert hashed == []
    writable = np.array(image)
    pixel_digest(writable)  # a writable array may change: hashed every time
    pixel_digest(writable)
    assert hashed == [1, 1]


def test_a_freed_image_leaves_no_digest_behind():
    from vipexec.modules.synthetic import vision

    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image.setflags(write=False)
    pixel_digest(image)
    key = id(image)
    assert key in vision._DIGESTS
    del image
    assert key not in vision._DIGESTS
