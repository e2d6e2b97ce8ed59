"""Which backend a query's programs run on: the clean synthetic one, or the noisy one.

A build with ``noise`` > 0 runs a ``noisy_share`` of its queries on
:class:`vipexec.modules.synthetic.backend.NoisySyntheticBackend`, every perception operation
erring with probability ``noise`` (a colour or shape answer replaced, a detection dropped, a
spurious box added). Which queries: a hash of the seed and the query id, so the choice is the
same on every run and on every worker (a resumed build makes the same rows). The noisy
backend's errors are seeded from the call itself, so the programs of one tree see one answer
per call. The expected answer stays the scene's truth: a noisy result that changes the answer
makes the program wrong, and the attribute labeller's independent checker is what should
notice it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CLEAN", "NOISY", "QueryBackend", "noise_options", "query_backend"]

CLEAN = "synthetic"
NOISY = "synthetic-noisy"


@dataclass(frozen=True)
class QueryBackend:
    name: str
    noise: float = 0.0
    """the error rate of each perception operation (0 on the clean backend)"""
    options: dict[str, Any] = field(default_factory=dict)
    """``create_backend`` options"""


def noise_options(rate: float, seed: int) -> dict[str, Any]:
    """The noisy backend's options when every perception operation errs at ``rate``."""
    return {
        "color_error": rate,
        "shape_error": rate,
        "miss_rate": rate,
        "spurious_rate": rate,
        "seed": seed,
    }


def query_backend(query_id: str, *, noise: float, share: float, seed: int) -> QueryBackend:
    """The backend of ``query_id``'s programs (see the module docstring)."""
    if noise <= 0 or share <= 0:
        return QueryBackend(CLEAN)
    digest = hashlib.sha256(f"noisy\0{seed}\0{query_id}".encode()).digest()
    if int.from_bytes(digest[:8], "big") / 2**64 >= share:
        return QueryBackend(CLEAN)
    return QueryBackend(NOISY, noise, noise_options(noise, seed))
