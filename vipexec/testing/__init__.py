"""Helpers for testing programs and the engine: a cheap in-process fake of the ViperGPT API."""

from vipexec.testing.fake_api import FakeImagePatch, FakeScene, FakeVideoSegment, fake_namespace

__all__ = ["FakeImagePatch", "FakeScene", "FakeVideoSegment", "fake_namespace"]
