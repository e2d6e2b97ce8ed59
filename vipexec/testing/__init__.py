"""Helpers for testing programs and the engine: a cheap in-process fake of the ViperGPT API,
and hypothesis strategies for synthetic scenes with known ground truth (``scenes``)."""

from vipexec.testing.fake_api import FakeImagePatch, FakeScene, FakeVideoSegment, fake_namespace
from vipexec.testing.strategies import Scene, scenes

__all__ = [
    "FakeImagePatch",
    "FakeScene",
    "FakeVideoSegment",
    "Scene",
    "fake_namespace",
    "scenes",
]
