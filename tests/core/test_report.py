"""The HTML report: self-contained, escaped, with crops of patches when the store is known."""

from vipexec import Program
from vipexec.modules.api import build_api
from vipexec.modules.backend import create_backend
from vipexec.modules.dispatch import LocalDispatcher, ServerDispatcher
from vipexec.modules.images import ImageStore
from vipexec.modules.synthetic.scene import generate_scene, render
from vipexec.report import render_html

SOURCE = (
    "def execute_command(image):\n"
    "    # Step 1: find <objects>\n"
    "    found = ImagePatch(image).find('object')\n"
    "    # Step 2: answer\n"
    "    print('<script>alert(1)</script>')\n"
    "    return found\n"
)


def run_with_store():
    store = ImageStore()
    ref = store.add(render(generate_scene(1)).image)
    api = build_api(ServerDispatcher(LocalDispatcher(create_backend("synthetic"), store)))
    return Program.from_source(SOURCE, name="r.py").run_in_process(
        namespace=api, inputs={"image": ref}
    ), store


def test_report_is_self_contained_with_crops():
    run, store = run_with_store()
    page = render_html(run, store=store)
    assert page.startswith("<!doctype html>")
    assert "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page
    assert "Step 1" in page and "find &lt;objects&gt;" in page


def test_program_text_and_output_are_escaped():
    run, store = run_with_store()
    page = render_html(run, store=store)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_failed_runs_show_the_error_and_work_without_a_store():
    run = Program.from_source("# Step 1: a\nx = 1\n# Step 2: b\ny = x / 0\n").run_in_process()
    page = render_html(run)
    assert "runtime error in block 1, line 4: ZeroDivisionError" in page
    assert "<div class='block ok'>" in page and "<div class='block error'>" in page
    assert "data:image" not in page
