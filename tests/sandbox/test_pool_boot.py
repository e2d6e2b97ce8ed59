"""A worker started early (before a command's heavy imports) is adopted by the first pool and
configured by it; one never adopted ends with the process that started it."""

import os
import subprocess
import sys
import time

import vipexec
from vipexec.sandbox.isolation import boot


def test_the_first_pool_adopts_the_early_worker_and_configures_it():
    boot.start_early()
    boot.start_early()  # a second call starts nothing more
    early = boot._early
    with vipexec.Sandbox(workers=2, memory=256) as sandbox:
        assert early.process.pid in sandbox.worker_pids
        assert boot.take_early() is None  # taken once
        # configured like the pool's other worker: an address-space limit, the pool's folder
        assert _address_space_limit(early.process.pid) != "unlimited"
        assert os.readlink(f"/proc/{early.process.pid}/cwd") == sandbox._workdir.name
        assert [r.result for r in sandbox.map(["print(1)"] * 4)] == [1] * 4


def test_an_early_worker_that_is_never_adopted_ends_with_its_parent():
    code = (
        "from vipexec.sandbox.isolation import boot\n"
        "boot.start_early()\n"
        "print(boot._early.process.pid, flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    pid = int(result.stdout)
    give_up = time.monotonic() + 60
    while _alive(pid) and time.monotonic() < give_up:
        time.sleep(0.1)
    assert not _alive(pid)


def test_a_dead_early_worker_is_not_adopted():
    boot.start_early()
    early = boot._early
    early.process.kill()
    early.process.wait(10)
    assert boot.take_early() is None
    with vipexec.Sandbox(workers=1) as sandbox:
        assert sandbox.worker_pids != [early.process.pid]
        assert sandbox.run("print(2)").result == 2


def _address_space_limit(pid):
    with open(f"/proc/{pid}/limits") as limits:
        line = next(line for line in limits if line.startswith("Max address space"))
    return line.split()[3]


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
