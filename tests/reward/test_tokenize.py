"""Golden tests of the shared tokenisation: exact ids, step-end positions and truncation."""

from __future__ import annotations

import pytest

from vipexec.reward.config import EncodingConfig
from vipexec.reward.errors import RewardError
from vipexec.reward.tokenize import StepEncoder, append_steps

# Ids by construction: the index in this list.
VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "how",
    "many",
    "cubes",
    "?",
    "find",
    "the",
    "red",
    "cube",
    "count",
    "them",
    "3",
    ".",
]
PAD, UNK, CLS, SEP = 0, 1, 2, 3
HOW, MANY, CUBES, Q, FIND, THE, RED, CUBE, COUNT, THEM, THREE, DOT = range(5, 17)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import BertTokenizer

    return BertTokenizer(vocab={w: i for i, w in enumerate(VOCAB)})


def encoder(tokenizer, **options) -> StepEncoder:
    return StepEncoder(tokenizer, EncodingConfig(**options), is_vlm=False)


def test_golden_ids_blocks_and_step_ends(tokenizer):
    enc = encoder(tokenizer, max_length=64).encode(
        "How many cubes?", ["Find the red cube.", "Count them", "3"]
    )
    assert enc.input_ids == [
        CLS,
        HOW,
        MANY,
        CUBES,
        Q,
        SEP,
        FIND,
        THE,
        RED,
        CUBE,
        DOT,
        SEP,
        COUNT,
        THEM,
        SEP,
        THREE,
        SEP,
    ]
    assert enc.block_ids == [0] * 6 + [1] * 6 + [2] * 3 + [3] * 2
    assert enc.step_ends == [11, 14, 16]
    assert all(enc.input_ids[e] == SEP for e in enc.step_ends)
    assert (enc.n_steps, enc.kept, enc.dropped) == (3, 3, 0)


def test_steps_are_tokenised_independently_of_their_neighbours(tokenizer):
    enc = encoder(tokenizer, max_length=64)
    a = enc.encode("how many cubes?", ["find the cube", "count them"])
    b = enc.encode("how many cubes?", ["find the red red red cube", "count them"])
    # The second step's own tokens are identical, only shifted.
    a2 = a.input_ids[a.step_ends[0] + 1 : a.step_ends[1] + 1]
    b2 = b.input_ids[b.step_ends[0] + 1 : b.step_ends[1] + 1]
    assert a2 == b2 == [COUNT, THEM, SEP]


def test_step_whose_marker_does_not_fit_is_dropped_with_everything_after(tokenizer):
    # Prompt block is 3 tokens, step 1 ends at index 5; at max_length 8 the tokens of step 2
    # would fit (indices 6, 7) but its marker would not, so step 2 and step 3 are dropped and
    # none of their tokens are kept.
    enc = encoder(tokenizer, max_length=8, max_prompt_tokens=3).encode(
        "cubes", ["count them", "count them", "3"]
    )
    assert enc.input_ids == [CLS, CUBES, SEP, COUNT, THEM, SEP]
    assert enc.step_ends == [5]
    assert (enc.kept, enc.dropped) == (1, 2)
    enc10 = encoder(tokenizer, max_length=10, max_prompt_tokens=3).encode(
        "cubes", ["count them", "count them", "3"]
    )
    assert enc10.step_ends == [5, 8]
    assert (enc10.kept, enc10.dropped) == (2, 1)
    assert len(enc10.input_ids) == 9


def test_exact_fit_keeps_the_step(tokenizer):
    enc = encoder(tokenizer, max_length=9, max_prompt_tokens=3).encode(
        "cubes", ["count them", "count them"]
    )
    assert enc.step_ends == [5, 8]
    assert len(enc.input_ids) == 9


def test_prompt_is_cut_to_its_budget(tokenizer):
    enc = encoder(tokenizer, max_length=32, max_prompt_tokens=2).encode("how many cubes ?", ["3"])
    assert enc.input_ids == [CLS, HOW, MANY, SEP, THREE, SEP]
    default = encoder(tokenizer, max_length=6).encode("how many cubes ? how many", ["3"])
    assert default.input_ids[:5] == [CLS, HOW, MANY, CUBES, SEP]  # budget 6 // 2 = 3


def test_step_marker_option(tokenizer):
    enc = encoder(tokenizer, max_length=32, step_marker=".").encode("cubes", ["3", "3"])
    assert enc.input_ids == [CLS, CUBES, DOT, THREE, DOT, THREE, DOT]
    with pytest.raises(RewardError, match="exactly one"):
        encoder(tokenizer, step_marker="red cube")


def test_empty_steps_and_rows(tokenizer):
    enc = encoder(tokenizer, max_length=16).encode("cubes", ["", "3"])
    assert enc.input_ids == [CLS, CUBES, SEP, SEP, THREE, SEP]
    assert enc.step_ends == [3, 5]
    none = encoder(tokenizer, max_length=16).encode("cubes", [])
    assert none.step_ends == [] and none.n_steps == 0


def test_append_steps_is_a_pure_function_of_a_tokenize_callable():
    fake = {"a": [10], "bb": [11, 12]}
    row = append_steps(
        [1, 2], ["a", "bb", "a"], tokenize=fake.__getitem__, marker_id=9, max_length=8
    )
    assert row.input_ids == [1, 2, 10, 9, 11, 12, 9]
    assert row.step_ends == [3, 6]
    assert row.block_ids == [0, 0, 1, 1, 2, 2, 2]
    assert row.dropped == 1
