"""Shared helpers for the test suite (imported by tests through the ``run_source`` fixture)."""

import os

import pytest

# Nothing in the test suite may reach the network for weights.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")


@pytest.fixture
def run_source():
    """Run a source string in process: ``run_source(src, sandbox=True, inputs=..., namespace=...)``."""
    from vipexec import Program

    def run(source, *, sandbox=True, inputs=None, namespace=None, **kwargs):
        return Program.from_source(source, name="prog.py").run_in_process(
            namespace=namespace, inputs=inputs, policy=sandbox, **kwargs
        )

    return run
