"""A shared sandbox pool for the sandbox tests (workers are real processes: start them once)."""

import numpy as np
import pytest

import vipexec
from vipexec.modules.synthetic.scene import generate_scene, render


@pytest.fixture(scope="session")
def scene_pixels():
    return render(generate_scene(11)).image


@pytest.fixture(scope="session")
def pool(scene_pixels):
    sandbox = vipexec.Sandbox(workers=2, timeout=5, memory=512)
    sandbox.scene = sandbox.images.add(np.asarray(scene_pixels))
    yield sandbox
    sandbox.close()


@pytest.fixture
def children():
    """A function giving the live child processes of this test process."""
    return child_pids


def child_pids(pid=None):
    """Live child processes of this test process (from /proc)."""
    import os

    parent = os.getpid() if pid is None else pid
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            found.add(int(entry))
    return found
