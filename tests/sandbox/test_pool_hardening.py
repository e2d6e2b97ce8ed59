"""The pool under faults: slow and broken call servers, dying workers, hostile results, and
close() racing a respawn. Each case costs only its own program, and nothing outlives close()."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

import vipexec
from vipexec.modules.dispatch import ServedCall
from vipexec.sandbox.isolation.pool import SandboxError

from .conftest import child_pids

ASK = "def execute_command(question):\n    # Step 1: ask\n    answer = llm_query(question)\n    return answer\n"


class FakeServer:
    """A call server whose answers depend on the question (a test double for a model host).

    ``slow`` blocks until released (10 s at most), ``die`` kills the asking worker and waits
    until it is gone, ``unsendable`` answers with something that is not JSON data."""

    backend_id = "fake"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.victim: int | None = None

    def serve(self, method, image, box, args):
        question = args.get("question")
        if question == "slow":
            self.release.wait(10)
        elif question == "die":
            os.kill(self.victim, signal.SIGTERM)
            _wait_until_dead(self.victim)
        elif question == "unsendable":
            return ServedCall(object(), 0.0, self.backend_id)
        return ServedCall(f"answer to {question}", 0.0, self.backend_id)


def _wait_until_dead(pid, limit=10.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in "ZX":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not die")


@pytest.fixture
def fake():
    server = FakeServer()
    yield server
    server.release.set()  # lets an abandoned call's thread finish


def test_a_slow_call_cannot_hold_a_deadline_or_delay_another_program(fake):
    with vipexec.Sandbox(workers=2, server=fake, timeout=2) as sandbox:
        outcome = {}

        def slow_program():
            start = time.monotonic()
            outcome["run"] = sandbox.run(ASK, {"question": "slow"})
            outcome["seconds"] = time.monotonic() - start

        thread = threading.Thread(target=slow_program)
        thread.start()
        innocents = [sandbox.run(ASK, {"question": f"q{i}"}) for i in range(3)]
        thread.join()
        assert [r.result for r in innocents] == ["answer to q0", "answer to q1", "answer to q2"]
        run = outcome["run"]
        assert (run.error.kind, run.error.type, run.error.block) == (
            "timeout",
            "DeadlineExceeded",
            0,
        )
        assert "during an API call" in run.error.message
        assert outcome["seconds"] < 2 + 1
        assert run.blocks[0].calls[0]["method"] == "llm_query"  # the trace is kept


def test_a_worker_whose_call_was_abandoned_serves_its_next_program(fake):
    with vipexec.Sandbox(workers=1, server=fake, timeout=1) as sandbox:
        first = sandbox.run(ASK, {"question": "slow"})
        assert first.error.kind == "timeout"
        # The abandoned call still blocks its thread; the worker's next call must not wait on it.
        second = sandbox.run(ASK, {"question": "next"}, timeout=5)
        assert second.result == "answer to next"
        assert second.meta["worker"] == first.meta["worker"]
        assert not fake.release.is_set()


class SlowLoadingServer(FakeServer):
    """Loads its model lazily on first use, or up front when asked to (``load``)."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded = False
        self.loaded_on_a_call = False

    def load(self):
        time.sleep(2.5)
        self.loaded = True

    def serve(self, method, image, box, args):
        if not self.loaded:
            self.loaded_on_a_call = True
            self.load()
        return super().serve(method, image, box, args)


def test_models_load_before_the_first_programs_clock_starts():
    server = SlowLoadingServer()
    with vipexec.Sandbox(workers=1, server=server, timeout=2) as sandbox:
        assert server.loaded
        run = sandbox.run(ASK, {"question": "q"})
    assert run.result == "answer to q"
    assert not server.loaded_on_a_call


def test_a_worker_dying_while_its_call_is_served_costs_only_its_program(fake):
    with vipexec.Sandbox(workers=1, server=fake, timeout=10) as sandbox:
        fake.victim = sandbox.worker_pids[0]
        runs = sandbox.map([ASK] * 3, [{"question": q} for q in ("a", "die", "b")])
        assert runs[0].result == "answer to a"
        assert runs[1].error.kind == "crashed" and "SIGTERM" in runs[1].error.message
        assert runs[1].error.block == 0
        assert runs[2].result == "answer to b"
        assert runs[2].meta["worker"] != fake.victim


def test_an_unsendable_answer_costs_only_its_program_and_never_mixes_runs(fake):
    with vipexec.Sandbox(workers=1, server=fake, timeout=10) as sandbox:
        bad = sandbox.run(ASK, {"question": "unsendable"})
        assert (bad.error.kind, bad.error.block) == ("runtime", 0)
        assert "cannot be sent to the worker" in bad.error.message
        good = sandbox.run(ASK, {"question": "next"})
        assert good.ok and good.result == "answer to next"
        assert good.blocks[0].calls[0]["args"]["question"]["value"] == "next"
        assert good.meta["worker"] == bad.meta["worker"]


def test_a_worker_that_died_idle_is_replaced_and_the_job_retried(pool):
    victim = pool.worker_pids[0]
    other = pool.worker_pids[1]
    os.kill(victim, signal.SIGKILL)
    _wait_until_dead(victim)
    os.kill(other, signal.SIGKILL)
    _wait_until_dead(other)
    runs = [pool.run("print(5)\n") for _ in range(2)]
    assert [r.result for r in runs] == [5, 5]
    assert not {r.meta["worker"] for r in runs} & {victim, other}


def test_a_program_finishing_within_the_kill_grace_is_a_timeout(pool):
    run = pool.run(
        "# Step 1: spin\ntry:\n    while True:\n        pass\nexcept:\n    pass\n"
        "# Step 2: answer\nprint(6)\n",
        timeout=0.5,
    )
    assert (run.error.kind, run.error.type) == ("timeout", "Timeout")
    assert run.result is None
    assert [b.status for b in run.blocks] == ["ok", "ok"]  # the trace it left is kept


def test_a_program_baseexception_is_its_own_error_with_its_trace(pool):
    before = set(pool.worker_pids)
    run = pool.run(
        "# Step 1: set up\nn = 7\n# Step 2: vanish\nclass Vanish(BaseException):\n    pass\n"
        "raise Vanish('gone')\n"
    )
    assert (run.error.kind, run.error.type, run.error.message) == ("runtime", "Vanish", "gone")
    assert run.error.block == 1
    assert run.blocks[0].variables == {"n": {"type": "int", "value": 7}}
    assert run.meta["worker"] in before and set(pool.worker_pids) == before


def test_a_result_too_deep_to_unwrap_is_the_programs_error(pool):
    before = set(pool.worker_pids)
    run = pool.run(
        "def execute_command():\n    x = []\n    for i in range(100000):\n        x = [x]\n"
        "    return x\n"
    )
    assert (run.error.kind, run.error.type) == ("runtime", "RecursionError")
    assert set(pool.worker_pids) == before


def test_a_trace_too_large_to_send_is_reported_at_once(pool):
    before = set(pool.worker_pids)
    start = time.monotonic()
    run = pool.run("# Step 1: big\nprint('x' * 70_000_000)\n", timeout=10)
    seconds = time.monotonic() - start
    assert (run.error.kind, run.error.type) == ("memory", "TraceTooLarge")
    assert "the limit is 64 MB" in run.error.message
    assert [b.status for b in run.blocks] == ["ok"]
    assert set(pool.worker_pids) == before  # the worker stays: it told the parent itself
    assert seconds < 10


def _pool_threads():
    return {t for t in threading.enumerate() if t.name.startswith("vipexec-")}


def test_close_racing_a_respawn_leaves_nothing_behind(capfd):
    stubborn = (
        "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass\n"
    )
    for _ in range(4):
        before, threads_before = child_pids(), _pool_threads()
        sandbox = vipexec.Sandbox(workers=2, timeout=0.3)
        workdir = Path(sandbox._workdir.name)
        run = sandbox.run(stubborn)  # killed: a replacement starts in the background
        assert run.error.kind == "timeout"
        sandbox.close()
        assert not (child_pids() - before)
        assert not (_pool_threads() - threads_before)
        assert not workdir.exists()
        with pytest.raises(SandboxError, match="closed"):
            sandbox.run("print(1)\n")
    assert "Traceback" not in capfd.readouterr().err


HOST_THEN_KILLED = """
import sys, threading, time
import vipexec
sandbox = vipexec.Sandbox(workers=1, timeout=600, backend="synthetic")
program = vipexec.Program.from_source("def execute_command():\\n    while True:\\n        pass\\n")
threading.Thread(target=sandbox.run, args=(program,), daemon=True).start()
while not sandbox.busy_worker_pids:
    time.sleep(0.01)
print(sandbox.busy_worker_pids[0], flush=True)
time.sleep(600)
"""


def test_a_worker_running_an_endless_program_ends_when_its_host_is_killed():
    """A SIGKILLed host never sends the deadline signal: the worker must notice on its own."""
    import subprocess
    import sys

    host = subprocess.Popen(
        [sys.executable, "-c", HOST_THEN_KILLED], stdout=subprocess.PIPE, text=True
    )
    try:
        worker = int(host.stdout.readline())
    finally:
        host.kill()
        host.wait()
    _wait_until_dead(worker, limit=30.0)
