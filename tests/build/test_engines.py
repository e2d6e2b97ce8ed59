"""Every engine and worker count gives the same dataset for the same seed."""

import pytest


def test_two_local_workers_give_the_same_dataset(small_build, tmp_path, build_dataset, files_of):
    out = tmp_path / "two"
    build_dataset(out, workers=2)
    assert files_of(out) == files_of(small_build)


def test_ray_engine_gives_the_same_dataset(small_build, tmp_path, build_dataset, files_of):
    ray = pytest.importorskip("ray")
    out = tmp_path / "ray"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        build_dataset(out, workers=2, engine="ray")
    finally:
        ray.shutdown()
    assert files_of(out) == files_of(small_build)
