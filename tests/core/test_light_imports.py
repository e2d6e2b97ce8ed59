"""`import vipexec` and the sandbox worker stay light: no numpy, torch or model libraries."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "ultralytics", "open_clip", "lightning", "numpy", "PIL")


@pytest.mark.parametrize(
    "statement",
    [
        "import vipexec",
        "import vipexec; vipexec.Program; vipexec.Run; vipexec.ProgramTree; vipexec.traced",
        "import vipexec.sandbox.isolation.worker",
        "import vipexec.modules, vipexec.labelers, vipexec.reward",
        "import vipexec; vipexec.Program.from_source('x = 1').run_in_process(policy=True)",
    ],
)
def test_no_heavy_imports(statement):
    code = f"import sys\n{statement}\nprint([m for m in {HEAVY!r} if m in sys.modules])\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
