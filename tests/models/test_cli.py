"""``vipexec models`` (models_command) and building the host from CLI flags."""

from __future__ import annotations

import io
import json

from vipexec.modules.models.cli import build_call_server, models_command


def run(*args, **kwargs):
    out, err = io.StringIO(), io.StringIO()
    code = models_command(*args, out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def test_table_of_a_loadable_profile(tiny_models):
    code, out, err = run(tiny_models["config"], "transformers")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"config: {tiny_models['config']}"
    assert lines[1].startswith("profile: transformers (other profiles: ultralytics, world)")
    header = lines[2].split()
    assert header == ["METHOD", "MODEL", "KIND", "CHECKPOINT", "DEVICE", "LOADABLE"]
    rows = {line.split()[0]: line for line in lines[3:12]}
    assert set(rows) == {
        "find", "exists", "verify_property", "best_text_match", "best_image_match",
        "simple_query", "compute_depth", "llm_query", "select_answer",
    }  # fmt: skip
    assert "owl" in rows["find"] and "cpu/float32" in rows["find"]
    assert "yes: folder " in rows["simple_query"]
    assert "models not used by this profile:" in out


def test_json_report_and_load(tiny_models):
    code, out, _ = run(tiny_models["config"], "ultralytics", as_json=True, load=True)
    report = json.loads(out)
    assert code == 0
    assert report["profile"] == "ultralytics" and report["offline"] is True
    find = next(row for row in report["methods"] if row["method"] == "find")
    assert find["model"] == "yolo" and find["loadable"] and find["reason"].startswith("loaded on")


def test_missing_checkpoint_and_unrouted_methods_exit_1(tmp_path):
    config = tmp_path / "models.yaml"
    config.write_text(
        "models:\n  det: {kind: yolo, checkpoint: missing.pt}\nprofiles:\n  p: {find: det}\n"
    )
    code, out, _ = run(config)
    assert code == 1
    find = next(line for line in out.splitlines() if line.startswith("find "))
    assert "no: find() is unavailable" not in find  # listing names no method
    assert "checkpoint 'missing.pt' not found; looked in:" in find
    assert str(tmp_path / "missing.pt") in find
    exists = next(line for line in out.splitlines() if line.startswith("exists "))
    assert "det" in exists  # exists falls back to the find model
    depth = next(line for line in out.splitlines() if line.startswith("compute_depth "))
    assert "no: not configured in this profile" in depth


def test_bad_config_exits_2_with_one_line(tmp_path):
    config = tmp_path / "models.toml"
    config.write_text('[models.det]\nkind = "yolo"\ncheckpoint = "a.pt"\nconfidence = 1\n')
    code, out, err = run(config)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"error: {config}: models.det.confidence: unknown key")
    code, _, err = run(tmp_path / "nope.toml")
    assert code == 2 and "no such models config file" in err


def test_build_call_server_applies_flags(tiny_models, tmp_path):
    host = build_call_server(
        tiny_models["config"],
        "ultralytics",
        device="cpu",
        max_batch=3,
        max_wait_ms=1.5,
        cache_path=tmp_path / "calls.sqlite",
    )
    try:
        assert host.profile.name == "ultralytics"
        assert host.config.host.devices == "cpu"
        assert host.config.host.max_batch == 3 and host.config.host.max_wait_ms == 1.5
        assert host.cache is not None and host.cache.path == tmp_path / "calls.sqlite"
    finally:
        host.close()
    off = build_call_server(tiny_models["config"], "world", cache="off", device="cuda:0,cuda:1")
    try:
        assert off.cache is None and off.config.host.devices == ("cuda:0", "cuda:1")
    finally:
        off.close()


def test_load_resolves_referenced_models_as_run_does(tiny_models):
    # yolo-world takes its class-name embeddings from the clip model (text_encoder = "clip"):
    # loading it needs the host's resolver, exactly as `vipexec run --config` loads it.
    code, out, _ = run(tiny_models["config"], "world", as_json=True, load=True)
    report = json.loads(out)
    find = next(row for row in report["methods"] if row["method"] == "find")
    assert find["model"] == "yolo-world"
    assert find["loadable"] and find["reason"].startswith("loaded on cpu"), find["reason"]
    assert code == 0, [row["reason"] for row in report["methods"] if not row["loadable"]]
