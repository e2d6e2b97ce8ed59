"""``vipexec reward ...`` through ``main(argv)``: commands, packaged configs and clean errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vipexec.reward.cli import main, packaged_configs


def run(capfd, *argv):
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out, err


def assert_one_line_error(code, err, pattern):
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("vipexec reward: error: ")
    assert pattern in lines[0]
    assert "Traceback" not in err


def test_packaged_configs_exist():
    assert {"tiny", "minilm", "minilm-image", "qwen2vl-lora"} <= set(packaged_configs())


def test_usage(capfd):
    code, out, _ = run(capfd, "--help")
    assert code == 0 and "select" in out and "tiny" in out
    code, _, err = run(capfd)
    assert code == 2 and "usage" in err


def test_fit_with_the_packaged_tiny_config(capfd, small_dataset, tmp_path):
    code, _, err = run(
        capfd,
        "fit",
        "--config",
        "tiny",
        "--data.path",
        str(small_dataset),
        "--trainer.fast_dev_run",
        "1",
        "--trainer.default_root_dir",
        str(tmp_path),
    )
    assert code == 0, err


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (["fit", "--config", "nope"], "config not found: nope"),
        (["fit", "--config", "tiny", "--data.path", "/no/such.jsonl"], "file not found"),
        (["fit", "--config", "tiny", "--model.head.kind", "bogus"], "bogus"),
        (
            [
                "fit",
                "--config",
                "tiny",
                "--model.backbone.config_overrides",
                "{nope_layers: 2}",
                "--data.path",
                "{data}",
            ],
            "has no attribute 'nope_layers'",
        ),
        (["export", "/no/such.ckpt", "{tmp}/out"], "checkpoint not found"),
        (["export"], "the following arguments are required"),
        (["select", "{data}"], "no 'scores'; pass --model"),
        (["select", "{data}", "--aggregator", "max"], "invalid choice"),
        (["frobnicate"], "unknown command"),
    ],
)
def test_bad_input_is_one_line_and_status_2(capfd, small_dataset, tmp_path, argv, pattern):
    argv = [a.replace("{data}", str(small_dataset)).replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run(capfd, *argv)
    assert_one_line_error(code, err, pattern)


def test_malformed_row_is_one_line(capfd, small_dataset, tmp_path):
    bad = tmp_path / "bad.jsonl"
    lines = small_dataset.read_text().splitlines()
    row = json.loads(lines[1])
    row["logic"] = row["logic"][:-1]
    bad.write_text("\n".join([lines[0], json.dumps(row)]) + "\n")
    code, _, err = run(capfd, "fit", "--config", "tiny", "--data.path", str(bad))
    assert_one_line_error(code, err, "bad.jsonl, row 2, field 'logic'")


def test_a_file_name_cannot_drive_the_terminal(capfd, small_dataset, tmp_path):
    # The name reaches the error line; an escape sequence or a newline in it is shown escaped.
    bad = tmp_path / "bad\x1b[2J\nvipexec: forged.jsonl"
    bad.write_text(small_dataset.read_text().splitlines()[0][:-1] + "\n")
    code, _, err = run(capfd, "fit", "--config", "tiny", "--data.path", str(bad))
    assert_one_line_error(code, err, "bad")
    assert "\x1b" not in err and "\\x1b[2J\\nvipexec: forged.jsonl" in err


def test_select_over_scored_candidates(capfd, tmp_path):
    def cand(pid, query, scores):
        return {
            "prompt": f"question {query}",
            "completions": ["a"] * len(scores),
            "meta": {"program_id": pid, "query_id": query},
            "scores": [dict(zip(("relevance", "logic", "attribute"), s)) for s in scores],
        }

    one = tmp_path / "one.jsonl"
    two = tmp_path / "two.jsonl"
    one.write_text(
        "\n".join(
            json.dumps(c)
            for c in [
                cand("a1", "q1", [(0.9, 0.9, 0.1)]),
                cand("a2", "q1", [(0.9, 0.9, 0.9)]),
                cand("b1", "q2", [(0.2, 0.9, 0.9), (0.9, 0.9, 0.9)]),
            ]
        )
        + "\n"
    )
    two.write_text(json.dumps(cand("b2", "q2", [(0.9, 0.2, 0.9), (0.9, 0.9, 0.9)])) + "\n")
    code, out, err = run(capfd, "select", str(one), str(two))
    assert code == 0, err
    picks = {g["group"]: g["selected"]["program_id"] for g in map(json.loads, out.splitlines())}
    assert picks == {"q1": "a2", "q2": "b2"}  # q2: same count, b2 wins on relevance
    code, out, _ = run(
        capfd,
        "select",
        str(one),
        str(two),
        "--aggregator",
        "min",
        "--output",
        str(tmp_path / "sel.jsonl"),
    )
    assert code == 0 and out == ""
    groups = [json.loads(x) for x in (tmp_path / "sel.jsonl").read_text().splitlines()]
    assert groups[0]["ranking"][0]["key"] == [pytest.approx(0.729)]


def test_select_and_export_with_a_trained_model(capfd, small_dataset, tmp_path):
    code, _, err = run(
        capfd,
        "fit",
        "--config",
        "tiny",
        "--data.path",
        str(small_dataset),
        "--trainer.max_epochs",
        "1",
        "--trainer.limit_train_batches",
        "2",
        "--trainer.limit_val_batches",
        "1",
        "--trainer.default_root_dir",
        str(tmp_path),
    )
    assert code == 0, err
    ckpt = next((tmp_path / "checkpoints").glob("*.ckpt"))
    code, out, err = run(capfd, "export", str(ckpt), str(tmp_path / "export"))
    assert code == 0, err
    code, out, err = run(
        capfd, "select", str(small_dataset), "--model", str(tmp_path / "export"), "--normalize"
    )
    assert code == 0, err
    groups = [json.loads(x) for x in out.splitlines()]
    assert len(groups) == 24 and all(g["n_candidates"] == 3 for g in groups)


def test_importing_the_package_does_not_import_torch():
    code = (
        "import sys, vipexec.reward, vipexec.reward.select, vipexec.reward.cli, "
        "vipexec.reward.config, vipexec.reward.contract; "
        "bad = [m for m in ('torch', 'lightning', 'transformers', 'datasets') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("name", "monitor"),
    [
        ("tiny", "val/avg_acc"),
        ("minilm", "val/avg_auroc"),
        ("minilm-image", "val/avg_auroc"),
        ("qwen2vl-lora", "val/avg_auroc"),
    ],
)
def test_packaged_configs_parse(capfd, name, monitor):
    code, out, err = run(capfd, "fit", "--config", name, "--print_config")
    assert code == 0, err
    assert "backbone:" in out and monitor in out


def test_qwen2vl_config_runs_on_a_tiny_vlm_with_images(
    capfd, tiny_qwen2vl_dir, scene_image, fixture_module, tmp_path
):
    import shutil

    shutil.copy(scene_image, tmp_path / "scene.png")
    rows = fixture_module.generate(queries=8, programs=2, seed=4, val_share=0.3, test_share=0.0)
    for r in rows:
        r["images"] = ["scene.png"]  # relative to the data file's folder
    data = tmp_path / "steps.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _, err = run(
        capfd,
        "fit",
        "--config",
        "qwen2vl-lora",
        "--data.path",
        str(data),
        "--model.backbone.name_or_path",
        str(tiny_qwen2vl_dir),
        "--model.backbone.dtype",
        "float32",
        "--model.backbone.gradient_checkpointing",
        "false",
        "--model.encoding.max_length",
        "256",
        "--model.encoding.prompt_format",
        "plain",
        "--model.encoding.step_marker",
        "null",
        "--model.head.attn_dim",
        "16",
        "--model.head.attn_heads",
        "2",
        "--data.num_workers",
        "0",
        "--trainer.accelerator",
        "cpu",
        "--trainer.precision",
        "32-true",
        "--trainer.fast_dev_run",
        "2",
        "--trainer.default_root_dir",
        str(tmp_path / "runs"),
    )
    assert code == 0, err


@pytest.mark.slow  # a fresh interpreter importing torch and transformers: ~5-9 s
def test_inference_does_not_need_lightning(tiny_bert_dir, tmp_path):
    script = (
        "import sys\n"
        "from vipexec.reward.config import BackboneConfig, HeadConfig, RewardModelConfig\n"
        "from vipexec.reward.export import write_export\n"
        "from vipexec.reward.inference import RewardModel\n"
        "from vipexec.reward.model import RewardNet\n"
        "from vipexec.reward.tokenize import StepEncoder\n"
        f"cfg = RewardModelConfig(backbone=BackboneConfig(name_or_path={str(tiny_bert_dir)!r}),"
        " head=HeadConfig(attn_dim=8, attn_heads=2, mlp_hidden=8, proj_dim=4))\n"
        "enc = StepEncoder.from_config(cfg.backbone, cfg.encoding)\n"
        f"write_export(cfg, RewardNet(cfg).state_dict(), enc, {str(tmp_path / 'x')!r})\n"
        f"s = RewardModel.load({str(tmp_path / 'x')!r}).score('how many cubes ?', ['3', '4'])\n"
        "assert len(s) == 2 and set(s[0]) == {'relevance', 'logic', 'attribute'}\n"
        "sys.exit(1 if 'lightning' in sys.modules else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
