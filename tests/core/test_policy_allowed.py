"""Constructs generated programs use that the policy must accept, each with its exact result."""

import pytest

ALLOWED = [
    # (script source printing its answer, expected result)
    ("d = {'a': 1}\nd['a'] += 2\nprint(d['a'])\n", 3),
    ("xs = [1, 2]\nxs[0] *= 5\nprint(xs)\n", [5, 2]),
    ("n = 0\nfor i in range(4):\n    n += i\nprint(n)\n", 6),
    ("n: int = 7\nprint(n)\n", 7),
    ("a, (b, c) = 1, (2, 3)\nprint(a + b + c)\n", 6),
    ("first, *rest = [1, 2, 3]\nprint(rest)\n", [2, 3]),
    ("t = 0\nfor i, (a, b) in enumerate([(1, 2), (3, 4)]):\n    t += i * (a + b)\nprint(t)\n", 7),
    ("print(sorted({x % 3 for x in range(10)}))\n", [0, 1, 2]),
    ("print({k: v for k, v in zip('ab', [1, 2])})\n", {"a": 1, "b": 2}),
    ("print(sum(x * x for x in range(4)))\n", 14),
    ("x = 3.14159\nprint(f'{x:.2f} {x!r:>10}')\n", "3.14    3.14159"),
    (
        "class Box:\n"
        "    def __init__(self, w):\n"
        "        self.w = w\n"
        "    def grow(self):\n"
        "        self.w += 1\n"
        "        return self\n"
        "    def __lt__(self, other):\n"
        "        return self.w < other.w\n"
        "b = Box(1).grow()\nprint([b.w, Box(0) < b])\n",
        [2, True],
    ),
    (
        "class NotFound(Exception):\n    pass\n"
        "try:\n    raise NotFound('x')\nexcept NotFound as e:\n    msg = str(e)\n"
        "else:\n    msg = 'no'\nfinally:\n    done = True\nprint(msg)\n",
        "x",
    ),
    (
        "def f(a, *args, k=2, **kw):\n    return a + len(args) + k + len(kw)\n"
        "print(f(1, *[1, 1], **{'z': 0}))\n",
        6,
    ),
    ("add = lambda a, b=1: a + b\nprint(add(2))\n", 3),
    (
        "def outer(x):\n    def inner(y):\n        return x + y\n    return inner\n"
        "print(outer(1)(2))\n",
        3,
    ),
    ("i = 0\nwhile True:\n    i += 1\n    if i < 3:\n        continue\n    break\nprint(i)\n", 3),
    ("import math\nprint(math.sqrt(16))\n", 4.0),
    ("from collections import Counter\nprint(Counter('aab').most_common(1)[0][0])\n", "a"),
    ("import re\nprint(re.findall(r'\\d+', 'a1b22'))\n", ["1", "22"]),
    ("import statistics\nprint(statistics.median([3, 1, 2]))\n", 2),
    ("count = 0\ndef bump():\n    global count\n    count += 1\nbump()\nprint(count)\n", 1),
    ("if (n := len('abc')) > 2:\n    print(n)\n", 3),
    ("print(', '.join(['a', 'b']).upper())\n", "A, B"),
    ("items = [{'n': 2}, {'n': 1}]\nitems.sort(key=lambda d: d['n'])\nprint(items[0]['n'])\n", 1),
    ("print([isinstance(1, int), isinstance('a', (int, str))])\n", [True, True]),
    ("xs = list(range(10))\nprint(xs[2:8:3])\n", [2, 5]),
    ("xs = [1, 2, 3]\ndel xs[0]\nprint(xs)\n", [2, 3]),
    ("def gen():\n    yield from range(3)\nprint(list(gen()))\n", [0, 1, 2]),
    ("print([min(3, 1), max([2, 5]), abs(-2), round(2.567, 1)])\n", [1, 5, 2, 2.6]),
    (
        "print([any([0, 1]), all([]), list(map(str, [1])), list(filter(None, [0, 1]))])\n",
        [True, True, ["1"], [1]],
    ),
    ("print(tuple(reversed([1, 2])))\n", (2, 1)),
    ("print(dict(a=1).get('b', 0))\n", 0),
    ("print(getattr('abc', 'upper')())\n", "ABC"),
    ("print(getattr(1, 'nope', 5))\n", 5),
    ("print(hasattr(1, 'nope'))\n", False),
    ("print(type(1) is int)\n", True),
    ("class A:\n    pass\na = A()\nsetattr(a, 'x', 3)\nprint(a.x)\n", 3),
    ("print(int('7') + float('0.5') + bool(1))\n", 8.5),
    ("print(divmod(7, 2))\n", (3, 1)),
    ("print('{} and {}'.replace('{}', 'x'))\n", "x and x"),
]


@pytest.mark.parametrize(("source", "expected"), ALLOWED)
def test_allowed_and_correct(run_source, source, expected):
    run = run_source(source)
    assert run.error is None, run.error
    assert run.result == expected
    assert type(run.result) is type(expected)
