"""The one reader of code fences in chat replies, and what its two users take from it."""

from vipexec.generate.blocks import read_block
from vipexec.labelers.llm_suite import extract_code
from vipexec.modules.models.replies import CodeFence, code_fences


def test_fences_are_read_in_order_with_their_language_and_whether_they_close():
    reply = "Sure:\n```Python \nx = 1\n```\nand\n```\ny = 2\n```\nthen\n```text\ncut off"
    assert code_fences(reply) == [
        CodeFence(language="python", body="x = 1\n", closed=True),
        CodeFence(language="", body="y = 2\n", closed=True),
        CodeFence(language="text", body="cut off", closed=False),
    ]


def test_a_reply_without_fences_has_none():
    assert code_fences("def f():\n    return 1\n") == []
    assert code_fences("inline ``` backticks ``` only") == []


def test_a_suite_takes_closed_python_fences_only():
    reply = (
        "```python\ndef execute_test(image):\n    assert True\n```\n"
        "```text\nnot code\n```\n"
        "```py\ndef helper():\n    return 1\n```\n"
        "```python\ndef cut(image):\n    assert"
    )
    assert extract_code(reply) == (
        "def execute_test(image):\n    assert True\n\ndef helper():\n    return 1\n"
    )


def test_a_generated_block_is_found_in_an_unclosed_fence():
    answer = "Here it is:\n```python\n# Step 1: find the cars\ncars = image.find('car')\n"
    block = read_block(answer, step=1, previous=[])
    assert block.text == "# Step 1: find the cars\ncars = image.find('car')\n"
