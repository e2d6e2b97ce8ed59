"""Shared fixtures of the module-layer tests: a store, the synthetic API, rendered scenes."""

from __future__ import annotations

import functools

import pytest

from vipexec.modules.api import build_api
from vipexec.modules.dispatch import LocalDispatcher
from vipexec.modules.images import ImageStore
from vipexec.modules.synthetic.backend import SyntheticBackend
from vipexec.modules.synthetic.scene import generate_scene, render


@pytest.fixture(scope="session")
def rendered_scene():
    """``rendered_scene(seed)``: a generated scene, rendered once per test session."""
    return functools.cache(lambda seed: render(generate_scene(seed)))


@pytest.fixture
def store() -> ImageStore:
    return ImageStore()


@pytest.fixture
def api(store):
    return build_api(LocalDispatcher(SyntheticBackend(), store))
