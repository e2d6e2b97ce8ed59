"""Least-to-most program generation: generators, the tree builder and tree execution."""

from vipexec.generate.protocol import Alternative, Generator, Query

__all__ = ["Alternative", "Generator", "Query"]
