"""Parent-side cost of synthetic-backend calls, each against a baseline from the same run.

1. Image digest per call: :func:`pixel_digest` on a store image (hashed once, then looked up)
   against hashing the pixels on every call (what every call did before).
2. The inputs that were quadratic (issue 10), each timed at two sizes, n and 4n: a linear path
   takes about 4x as long at 4n, a quadratic one about 16x.
   They call the backend directly, past the API bounds, to show the algorithms themselves.

Usage: ``python bench/synthetic_call_costs.py [--repeat 200]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from vipexec.modules.synthetic.backend import SyntheticBackend
from vipexec.modules.synthetic.scene import generate_scene, render
from vipexec.modules.synthetic.vision import _digest, pixel_digest


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    repeat = parser.parse_args().repeat

    image = np.asarray(render(generate_scene(11)).image).copy()
    image.setflags(write=False)
    box = (0, 0, image.shape[1], image.shape[0])
    backend = SyntheticBackend()

    cached = best_of(lambda: pixel_digest(image), repeat)
    hashed = best_of(lambda: _digest(image), repeat)
    print(
        f"image digest per call: {cached * 1e6:.1f} us cached, {hashed * 1e6:.1f} us hashing "
        f"every call ({hashed / cached:.0f}x)"
    )

    cases = [
        ("llm_query('1' * n)", lambda n: backend.llm_query("1" * n, True), 20_000),
        ("simple_query('is the zzz ' + 'red ' * n)",
         lambda n: backend.simple_query(image, box, "is the zzz " + "red " * n), 3_000),
        ("find('dog ' + '“' * n)", lambda n: backend.find(image, box, "dog " + "“" * n), 20_000),
        ("best_image_match([p] * n, [text * 500] * 20)",
         lambda n: backend.best_image_match([(image, box)] * n, ["large red circle " * 500] * 20),
         5_000),
    ]  # fmt: skip
    print(f"{'call':48} {'n':>8} {'at n':>10} {'at 4n':>10} {'ratio':>7}")
    for name, call, n in cases:
        small = best_of(lambda call=call, n=n: call(n), 5)
        large = best_of(lambda call=call, n=n: call(4 * n), 5)
        print(f"{name:48} {n:8,} {small * 1e3:8.2f}ms {large * 1e3:8.2f}ms {large / small:6.1f}x")
    print("(linear: about 4x; quadratic: about 16x)")


if __name__ == "__main__":
    main()
