"""Every engine and worker count gives the same dataset for the same seed.

The builds with worker processes run in a child process of their own: a process pool leaves a
resource tracker behind, and Ray its own processes, which other tests would count as leaks.
"""

import subprocess
import sys

import pytest


def _build_in_a_child(out, *options):
    command = [sys.executable, "-m", "vipexec", "dataset", str(out), "--queries", "14", *options]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_local_workers_give_the_same_dataset(small_build, tmp_path, files_of):
    out = tmp_path / "two"
    _build_in_a_child(out, "--workers", "2")
    assert files_of(out) == files_of(small_build)


def test_ray_engine_gives_the_same_dataset(small_build, tmp_path, files_of):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    # Without RAY_ADDRESS the build calls ray.init() and starts Ray on this machine.
    _build_in_a_child(out, "--workers", "2", "--engine", "ray")
    assert files_of(out) == files_of(small_build)
