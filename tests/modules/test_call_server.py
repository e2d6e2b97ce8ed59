"""The call-server half of dispatch: serve without tracing, record on the program's side."""

import pytest

from vipexec import Program
from vipexec.core.tracer import Recorder
from vipexec.modules.api import build_api
from vipexec.modules.backend import create_backend
from vipexec.modules.dispatch import (
    APICallError,
    LocalDispatcher,
    ServedCall,
    ServerDispatcher,
    served_error,
)
from vipexec.modules.images import ImageStore
from vipexec.modules.synthetic.scene import generate_scene, render


def server_and_image():
    store = ImageStore()
    ref = store.add(render(generate_scene(3)).image)
    return LocalDispatcher(create_backend("synthetic"), store), ref


def test_serve_records_nothing_and_reports_failures_as_data():
    server, ref = server_and_image()
    recorder = Recorder([[]])
    token = recorder.activate()
    recorder.enter(0)
    served = server.serve("find", ref.id, (0, 0, ref.width, ref.height), {"object_name": "circle"})
    failed = server.serve("nope", ref.id, None, {})
    recorder.exit(0, {})
    recorder.deactivate(token)
    assert recorder.blocks[0].calls == []
    assert isinstance(served.result, list) and served.error is None and served.ms >= 0
    assert served.backend.startswith("synthetic")
    assert failed.result is None and failed.error_type == "BackendError"
    assert ServedCall.from_dict(served.to_dict()) == served


def test_server_dispatcher_records_and_raises():
    server, ref = server_and_image()
    source = (
        "def execute_command(image):\n"
        "    # Step 1: find\n"
        "    circles = ImagePatch(image).find('circle')\n"
        "    # Step 2: count\n"
        "    return len(circles)\n"
    )
    run = Program.from_source(source).run_in_process(
        namespace=build_api(ServerDispatcher(server)), inputs={"image": ref}
    )
    assert run.ok
    call = run.blocks[0].calls[0]
    assert call["method"] == "find" and call["backend"].startswith("synthetic")
    assert call["image"] == ref.id


@pytest.mark.parametrize(
    ("error_type", "expected"),
    [("ValueError", ValueError), ("ModuleUnavailable", APICallError), ("OSError", APICallError)],
)
def test_served_errors_are_rebuilt_by_name(error_type, expected):
    error = served_error(
        ServedCall(None, 1.0, "b", error=f"{error_type}: boom", error_type=error_type)
    )
    assert type(error) is expected
    assert "boom" in str(error)
