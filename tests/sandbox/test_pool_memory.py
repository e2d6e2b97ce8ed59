"""Worker memory stays flat: a long-lived worker does not grow with the programs it ran, and
a worker is recycled (between jobs, never costing a program) after N runs or past an RSS."""

import pytest

import vipexec
from vipexec.core.errors import InvalidArgumentError

from .conftest import child_pids

DISTINCT = (
    "def execute_command(image):\n    # Step 1: look\n    found = ImagePatch(image).find('circle')\n"
    "    # Step 2: answer\n    return len(found) + {k}\n"
)


def _resident_mb(pid):
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def test_a_worker_is_recycled_after_its_runs_without_costing_a_program():
    before = child_pids()
    with vipexec.Sandbox(workers=1, recycle_runs=3) as sandbox:
        runs = [sandbox.run(f"print({k})\n") for k in range(7)]
        assert [r.result for r in runs] == list(range(7))
        workers = [r.meta["worker"] for r in runs]
        assert workers[0:3] == [workers[0]] * 3 and workers[3:6] == [workers[3]] * 3
        assert len(set(workers)) == 3
        assert sandbox.worker_pids == [workers[6]]
    assert not (child_pids() - before)


def test_a_worker_is_recycled_past_its_resident_memory_bound():
    with vipexec.Sandbox(workers=1, recycle_rss=1) as sandbox:  # every worker is over 1 MB
        runs = [sandbox.run(f"print({k})\n") for k in range(3)]
    assert [r.result for r in runs] == [0, 1, 2]
    assert len({r.meta["worker"] for r in runs}) == 3


@pytest.mark.parametrize("name", ["recycle_runs", "recycle_rss"])
def test_recycling_bounds_are_checked(name):
    with pytest.raises(InvalidArgumentError, match=f"{name} must be a positive integer"):
        vipexec.Sandbox(workers=1, **{name: 0})


@pytest.mark.slow
def test_worker_memory_does_not_grow_with_distinct_programs(pool):
    # Past the worker's program cache (256 entries), each run used to leave ~10 KB behind
    # (API classes made per job, a linecache entry per program): ~5 MB per 500 runs.
    with vipexec.Sandbox(workers=1, recycle_runs=10_000) as sandbox:
        image = sandbox.images.add(pool.images.pixels(pool.scene.id))
        pid = sandbox.worker_pids[0]
        for k in range(300):
            assert sandbox.run(DISTINCT.format(k=k), {"image": image}).ok
        start = _resident_mb(pid)
        for k in range(300, 800):
            assert sandbox.run(DISTINCT.format(k=k), {"image": image}).ok
        assert sandbox.worker_pids == [pid]
        assert _resident_mb(pid) - start < 3.0


def _job(k):
    return {"op": "run", "job": k, "name": "p", "source": f"print({k})\n"}


@pytest.fixture
def bare_worker():
    """A worker's job loop in this process (its pipes unused: only its program cache is)."""
    import os

    from vipexec.sandbox.isolation.channel import Channel
    from vipexec.sandbox.isolation.worker import SharedSlots, Worker

    read_end, write_end = os.pipe()
    channel = Channel(read_end, write_end)
    yield Worker(channel, SharedSlots(), {})
    channel.close()


def test_a_worker_caches_a_program_from_its_second_run_on(bare_worker):
    from vipexec.sandbox.isolation.worker import PROGRAM_CACHE_SIZE, SEEN_ONCE_SIZE

    for k in range(SEEN_ONCE_SIZE + 50):  # one-off programs: only their hashes are kept
        bare_worker.program(_job(k))
    assert len(bare_worker.programs) == 0 and len(bare_worker.seen_once) == SEEN_ONCE_SIZE
    first = bare_worker.program(_job(-1))
    second = bare_worker.program(_job(-1))
    assert second is not first and second.source == first.source
    assert bare_worker.program(_job(-1)) is second  # cached from the second run on
    for k in range(PROGRAM_CACHE_SIZE + 10):
        bare_worker.program(_job(10**6 + k))
        bare_worker.program(_job(10**6 + k))
    assert len(bare_worker.programs) == PROGRAM_CACHE_SIZE


@pytest.mark.slow
def test_worker_memory_is_flat_over_thousands_of_distinct_programs(pool):
    # Cached from their first run, one-off programs rotating through the cache fragmented
    # the allocator's arenas: ~6.5 MB more after 10,000 runs than after 100.
    with vipexec.Sandbox(workers=1, recycle_runs=100_000, recycle_rss=100_000) as sandbox:
        image = sandbox.images.add(pool.images.pixels(pool.scene.id))
        pid = sandbox.worker_pids[0]
        for k in range(100):
            assert sandbox.run(DISTINCT.format(k=k), {"image": image}).ok
        start = _resident_mb(pid)
        for k in range(100, 3000):
            assert sandbox.run(DISTINCT.format(k=k), {"image": image}).ok
        assert sandbox.worker_pids == [pid]
        assert _resident_mb(pid) - start < 2.5
