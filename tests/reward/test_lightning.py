"""The Lightning harness: fit, determinism, checkpoints, export and prediction."""

from __future__ import annotations

import json
import math

import lightning as L
import pytest
import torch

from vipexec.reward.config import BackboneConfig, EncodingConfig, HeadConfig, OptimConfig
from vipexec.reward.data import split_of
from vipexec.reward.inference import RewardModel
from vipexec.reward.lightning import RewardLitModule, ScoresWriter, StepDataModule

HEAD = dict(attn_dim=16, attn_heads=2, mlp_hidden=16, proj_dim=8)


def module(path, *, kind="triatt", tuning="frozen", seed=0, **backbone):
    L.seed_everything(seed, verbose=False)
    return RewardLitModule(
        backbone=BackboneConfig(
            name_or_path=str(path),
            tuning=tuning,
            lora_target_modules=["query", "value"],
            **backbone,
        ),
        encoding=EncodingConfig(max_length=160),
        head=HeadConfig(kind=kind, **HEAD),
        optim=OptimConfig(lr=1e-2, backbone_lr=1e-2),
    )


def trainer(tmp_path=None, **options):
    base = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
        default_root_dir=tmp_path,
    )
    base.update(options)
    return L.Trainer(**base)


def data(path, **options):
    return StepDataModule(str(path), batch_size=8, **options)


@pytest.mark.parametrize("kind", ["triatt", "linear", "and", "majority"])
def test_fast_dev_run_fit_and_test(tiny_bert_dir, small_dataset, kind):
    lit = module(tiny_bert_dir, kind=kind)
    dm = data(small_dataset)
    t = trainer(fast_dev_run=2)
    t.fit(lit, dm)
    assert "val/avg_acc" in t.callback_metrics
    if kind != "majority":
        assert math.isfinite(float(t.callback_metrics["train/loss"]))
    t.test(lit, dm, verbose=False)
    metrics = t.callback_metrics
    for name in (
        "test/avg_acc",
        "test/relevance_auroc",
        "test/logic_f1_macro",
        "test/attribute_base_rate",
    ):
        assert name in metrics
    assert 0.0 <= float(metrics["test/avg_acc"]) <= 1.0


def _head_state(lit):
    return {k: v.clone() for k, v in lit.state_dict().items()}


def test_training_is_seeded_and_deterministic(tiny_bert_dir, small_dataset):
    states = []
    dm = data(small_dataset)
    for seed in (0, 0, 1):
        lit = module(tiny_bert_dir, seed=seed, tuning="full")
        trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=0).fit(lit, dm)
        states.append(_head_state(lit))
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert any(not torch.equal(states[0][k], states[2][k]) for k in states[0])


@pytest.mark.parametrize("tuning", ["frozen", "lora"])
def test_checkpoint_holds_heads_adapters_and_config_and_reloads_equal(
    tiny_bert_dir, small_dataset, tmp_path, tuning
):
    lit = module(tiny_bert_dir, tuning=tuning)
    dm = data(small_dataset)
    t = trainer(tmp_path, max_epochs=1, limit_train_batches=3, limit_val_batches=1)
    t.fit(lit, dm)
    ckpt = tmp_path / "model.ckpt"
    t.save_checkpoint(ckpt)

    raw = torch.load(ckpt, map_location="cpu", weights_only=True)
    backbone_keys = [k for k in raw["state_dict"] if k.startswith("net.backbone.")]
    if tuning == "frozen":
        assert backbone_keys == []
    else:
        assert backbone_keys and all("lora_" in k for k in backbone_keys)
    assert raw["vipexec_reward"]["config"]["head"]["kind"] == "triatt"
    assert raw["hyper_parameters"]["backbone"]["tuning"] == tuning

    reloaded = RewardLitModule.load_from_checkpoint(ckpt)
    assert reloaded.config == lit.config
    batch = next(iter(dm.val_dataloader()))
    lit.eval()
    reloaded.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(batch), lit(batch), rtol=0, atol=0)

    # The same weights without Lightning: from the checkpoint and from an export.
    from vipexec.reward.export import export_checkpoint

    export = export_checkpoint(ckpt, tmp_path / "export")
    assert {p.name for p in export.iterdir()} == {"model.safetensors", "config.json", "processor"}
    row = dm.datasets["val"].row(0)
    with torch.no_grad():
        expected = lit(batch)[0, : len(row["completions"])]
    for source in (ckpt, export):
        scores = RewardModel.load(source).score(row["prompt"], row["completions"])
        got = torch.tensor([[s["relevance"], s["logic"], s["attribute"]] for s in scores])
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_predict_writes_rows_with_scores(tiny_bert_dir, small_dataset, tmp_path):
    lit = module(tiny_bert_dir)
    out = tmp_path / "scored.jsonl"
    t = trainer(callbacks=[ScoresWriter(str(out))])
    t.predict(lit, data(small_dataset, max_rows=10), return_predictions=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 10
    for row in rows:
        assert len(row["scores"]) == len(row["completions"])
        assert set(row["scores"][0]) == {"relevance", "logic", "attribute"}
        assert "_file" not in row and row["meta"]["program_id"]


def test_unlabelled_rows_can_be_scored_but_not_trained_on(tiny_bert_dir, tmp_path):
    from vipexec.reward.errors import StepDataError

    path = tmp_path / "candidates.jsonl"
    rows = [
        {
            "prompt": "how many cubes ?",
            "completions": ["find the cube .", "return 3 ."],
            "meta": {"program_id": f"p{i}", "query_id": "q", "split": "train"},
        }
        for i in range(3)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    lit = module(tiny_bert_dir)
    out = tmp_path / "scored.jsonl"
    trainer(callbacks=[ScoresWriter(str(out))]).predict(lit, data(path), return_predictions=False)
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [len(r["scores"]) for r in scored] == [2, 2, 2]
    assert scored[0]["logic"] == [None, None]
    with pytest.raises(StepDataError, match=r"candidates.jsonl, row 1, field 'labels': has no"):
        trainer(fast_dev_run=1).fit(lit, data(path))


def test_truncated_steps_are_counted_and_scored_as_none(tiny_bert_dir, small_dataset):
    lit = RewardLitModule(
        backbone=BackboneConfig(name_or_path=str(tiny_bert_dir)),
        encoding=EncodingConfig(max_length=40),
        head=HeadConfig(**HEAD),
    )
    dm = data(small_dataset)
    dm.attach_encoder(lit.encoder)
    dm.setup("fit")
    stats = dm.truncation["train"]
    assert stats["dropped_steps"] > 0 and stats["rows_with_dropped_steps"] > 0
    batch = next(iter(dm.train_dataloader()))
    assert int(batch["step_mask"].sum()) < int(batch["n_steps"].sum())
    row = dm.datasets["train"].row(0)
    model = RewardModel(lit.net, lit.encoder)
    scores = model.score(row["prompt"], row["completions"])
    kept = lit.encoder.encode(row["prompt"], row["completions"]).kept
    assert scores[kept:] == [None] * (len(scores) - kept)
    assert all(s is not None for s in scores[:kept])


def test_splits_are_held_out_by_query(tiny_bert_dir, small_dataset, tmp_path, fixture_module):
    dm = data(small_dataset)
    splits = dm.split_rows()
    queries = {s: {r["meta"]["query_id"] for r in splits[s]} for s in splits}
    assert all(queries[s] for s in queries)
    assert not (queries["train"] & queries["val"]) and not (queries["train"] & queries["test"])
    # Without meta.split: a stable hash of the query decides, same answer every time.
    rows = fixture_module.generate(queries=40, programs=3, seed=9)
    names = [
        split_of(
            {"query_id": r["meta"]["query_id"]},
            prompt=r["prompt"],
            val_fraction=0.2,
            test_fraction=0.2,
            salt="s",
        )
        for r in rows
    ]
    by_query = {}
    for r, n in zip(rows, names):
        by_query.setdefault(r["meta"]["query_id"], set()).add(n)
    assert all(len(v) == 1 for v in by_query.values())
    assert {"train", "val", "test"} == set(names)
    again = [
        split_of(
            {"query_id": r["meta"]["query_id"]},
            prompt=r["prompt"],
            val_fraction=0.2,
            test_fraction=0.2,
            salt="s",
        )
        for r in rows
    ]
    assert names == again
