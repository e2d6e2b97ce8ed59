"""A ViperGPT-style program using every API method runs against each profile's tiny models, with
every call in the trace; then through ProfileBackend, and through a host in a server."""

from __future__ import annotations

import pytest

from vipexec.modules.backend import METHODS
from vipexec.modules.models import tiny
from vipexec.modules.models.host import ModelHost
from vipexec.modules.models.profile import load_config

PROGRAM = """
def execute_command(image, video, query):
    # Step 1: find the people
    image_patch = ImagePatch(image)
    people = image_patch.find("person")
    anyone = image_patch.exists("person")
    # Step 2: describe the first one
    subject = people[0] if len(people) > 0 else image_patch
    wears_red = subject.verify_property("person", "red clothes")
    kind = subject.best_text_match(["man", "woman", "child"], prefix="a photo of a")
    colour = subject.simple_query("What color is the shirt?")
    depth = subject.compute_depth()
    # Step 3: pick a patch and ask the language model
    closest = best_image_match([image_patch, subject], ["a person in red"])
    fact = llm_query("What do people wear in winter?", long_answer=False)
    # Step 4: answer about the video
    segment = VideoSegment(video)
    frame = segment.frame_from_index(0)
    seen = frame.exists("person")
    answer = segment.select_answer({"people": len(people), "seen": seen}, query, ["yes", "no"])
    return {"people": len(people), "anyone": anyone, "red": wears_red, "kind": kind,
            "colour": colour, "depth": depth, "closest": closest.width, "fact": fact,
            "answer": answer}
"""

EXPECTED_TYPES = {
    "people": int, "anyone": bool, "red": bool, "kind": str, "colour": str, "depth": float,
    "closest": int, "fact": str, "answer": str,
}  # fmt: skip


@pytest.fixture
def http_config(tiny_models, openai_server):
    """The tiny config plus an ``llm_http`` model served by the test server."""
    path = tiny.write_tiny_config(
        tiny_models["folder"], tiny_models["paths"], llm_url=openai_server.url,
        name=f"models-http-{openai_server.httpd.server_address[1]}.toml",
    )  # fmt: skip
    return load_config(path)


def inputs_of(image, video):
    return {"image": image, "video": video, "query": "Is there a person?"}


@pytest.mark.parametrize("profile", ["ultralytics", "world", "transformers"])
def test_every_method_runs_and_is_traced(profile, http_config, store, image, video, run_program):
    with ModelHost(http_config, profile, store=store) as host:
        run = run_program(PROGRAM, host, store, inputs_of(image, video))
        assert run.ok, run.error
        result = run.result
        assert {k: type(v) for k, v in result.items()} == EXPECTED_TYPES
        assert result["answer"] in ("yes", "no")
        assert result["kind"] in ("man", "woman", "child")
        calls = [call for block in run.blocks for call in block.calls]
        assert {call["method"] for call in calls} == set(METHODS)
        for call in calls:
            assert call["backend"] == f"models:{profile}"
            assert call["model"] and isinstance(call["cache_hit"], bool)
            assert call["ms"] >= 0 and "error" not in call
        by_method = {}
        for call in calls:
            by_method.setdefault(call["method"], call)
        assert by_method["exists"]["cache_hit"] is True  # answered from find's entry
        assert by_method["llm_query"]["model"].startswith(
            "llm_http" if profile == "ultralytics" else "llm_local"
        )
        computed = host.computed()

        again = run_program(PROGRAM, host, store, inputs_of(image, video))
        assert again.ok and again.result == result
        assert all(call["cache_hit"] for block in again.blocks for call in block.calls)
        assert host.computed() == computed  # nothing computed twice


def test_profile_backend_through_the_registry(tiny_config, store, image, video):
    from vipexec import Program
    from vipexec.modules.api import build_api
    from vipexec.modules.backend import create_backend
    from vipexec.modules.dispatch import LocalDispatcher

    backend = create_backend("profile", config=tiny_config, profile="transformers")
    try:
        assert backend.backend_id.startswith("profile@1(")
        assert "profile='transformers'" in backend.backend_id
        run = Program.from_source(PROGRAM).run_in_process(
            namespace=build_api(LocalDispatcher(backend, store)), inputs=inputs_of(image, video)
        )
        assert run.ok, run.error
        assert {k: type(v) for k, v in run.result.items()} == EXPECTED_TYPES
        assert backend.host.invocations() > 0
    finally:
        backend.close()


def test_a_host_in_a_server_serves_several_clients(tiny_config, store, image, video):
    import threading

    from vipexec import Program
    from vipexec.modules.api import build_api
    from vipexec.modules.dispatch import ServerDispatcher
    from vipexec.modules.images import ImageStore
    from vipexec.modules.models.remote import HostServer, RemoteHost

    host = ModelHost(tiny_config, "world", store=ImageStore())  # the server has its own store
    with HostServer(host, authkey=b"test-key") as server:
        client = RemoteHost(server.address, authkey=b"test-key", store=store)
        runs = [None, None, None]

        def run(i):
            runs[i] = Program.from_source(PROGRAM).run_in_process(
                namespace=build_api(ServerDispatcher(client)), inputs=inputs_of(image, video)
            )

        threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(r is not None and r.ok for r in runs), [r.error for r in runs if r]
        assert runs[0].result == runs[1].result == runs[2].result
        assert image.id in host.store  # uploaded on first use
        stats = client.stats()
        assert sum(s["computed"] for s in stats.values()) == host.computed()
        unique = {
            (c["method"], c.get("image"), str(c.get("box")), str(c["args"]))
            for block in runs[0].blocks
            for c in block.calls
            if c["method"] != "exists"
        }
        assert host.computed() <= len(unique) + 2  # exists checks on new patches compute find
        client.close()
    host.close()


def test_the_host_server_as_its_own_process(tiny_models, store, image):
    """``python -m vipexec.modules.models.remote`` serves a profile to a RemoteHost."""
    import os
    import subprocess
    import sys

    from vipexec.modules.models.remote import RemoteHost, parse_address

    env = dict(os.environ, VIPEXEC_HOST_AUTHKEY="process-key")
    command = [
        sys.executable, "-m", "vipexec.modules.models.remote", "--config",
        str(tiny_models["config"]), "--profile", "ultralytics", "--address", "127.0.0.1:0",
        "--device", "cpu",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        line = process.stdout.readline()
        assert "model host serving profile 'ultralytics' on " in line, line
        address = parse_address(line.rsplit(" ", 1)[1].strip())
        client = RemoteHost(address, authkey=b"process-key", store=store)
        served = client.serve("find", image.id, (0, 0, image.width, image.height),
                              {"object_name": "person"})  # fmt: skip
        assert served.error is None and len(served.result) == 3
        assert served.model == "yolo:yolov8n.pt" and served.cache_hit is False
        again = client.serve("exists", image.id, (0, 0, image.width, image.height),
                             {"object_name": "person"})  # fmt: skip
        assert again.result is True and again.cache_hit is True
        assert client.stats()["yolo"]["computed"] == 1
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
