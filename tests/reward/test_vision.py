"""The multimodal reward model: image encoder, its pretraining and loading, the cross-modal
TriAtt head and the image token cache, on tiny models built from configs (CPU, offline)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from vipexec.reward.config import (
    BackboneConfig,
    EncodingConfig,
    HeadConfig,
    ImageConfig,
    RewardModelConfig,
)
from vipexec.reward.data import collate_steps
from vipexec.reward.errors import RewardError
from vipexec.reward.export import write_export
from vipexec.reward.inference import RewardModel
from vipexec.reward.model import RewardNet
from vipexec.reward.tokenize import StepEncoder
from vipexec.reward.vision import (
    ImageEncoder,
    ImageTokens,
    load_image_encoder,
    pretrain,
    save_image_encoder,
)

from .conftest import REPO

TINY = ImageConfig(encoder="conv", height=32, width=48, channels=8, layers=3)
HEAD = dict(attn_dim=16, attn_heads=2, mlp_hidden=16, proj_dim=8, dropout=0.0)
PROMPT = "how many red cubes are there ?"
STEPS = [
    "in this step , we use find to locate every cube in the image ; it returns 3 patches .",
    "in this step , we count the remaining patches , so the number of red cubes is 2 .",
    "in this step , we return 2 as the final answer .",
]


def pretrain_script():
    name = "pretrain_image_encoder"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def two_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenes")
    rng = np.random.default_rng(1)
    paths = []
    for i in range(2):
        path = folder / f"scene_{i}.png"
        Image.fromarray(rng.integers(0, 255, (60, 90, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def build_net(bert_dir, *, kind="triatt", image=TINY, weights=None):
    config = RewardModelConfig(
        backbone=BackboneConfig(name_or_path=str(bert_dir)),
        encoding=EncodingConfig(max_length=128),
        head=HeadConfig(kind=kind, **HEAD),
        image=ImageConfig.coerce({**image.to_dict(), "weights": weights}),
    )
    torch.manual_seed(0)
    return RewardNet(config).eval(), StepEncoder.from_config(config.backbone, config.encoding)


def probs(net, encoder, rows):
    examples = []
    for i, (steps, images) in enumerate(rows):
        enc = encoder.encode(PROMPT, steps)
        examples.append(
            {
                "row_id": i,
                "encoded": enc,
                "labels": [[-100.0] * 3] * enc.kept,
                "and_labels": [-100.0] * enc.kept,
                "images": images,
            }
        )
    with torch.no_grad():
        return net.step_probabilities(net(collate_steps(examples, pad_id=encoder.pad_id)))


def test_encoder_gives_one_token_per_grid_cell():
    encoder = ImageEncoder(TINY)
    tokens = encoder(torch.rand(2, 3, TINY.height, TINY.width))
    assert TINY.grid == (4, 6)
    assert tokens.shape == (2, 24, 8)


def test_image_sizes_must_divide_into_the_grid():
    with pytest.raises(RewardError, match="multiples of 2\\*\\*layers"):
        ImageConfig(encoder="conv", height=30, width=48, layers=3)


def test_saved_encoder_loads_with_the_same_outputs(tmp_path):
    torch.manual_seed(3)
    encoder = ImageEncoder(TINY).eval()
    save_image_encoder(encoder, tmp_path / "enc", provenance={"note": "test"})
    loaded = load_image_encoder(tmp_path / "enc", TINY).eval()
    pixels = torch.rand(1, 3, TINY.height, TINY.width)
    torch.testing.assert_close(loaded(pixels), encoder(pixels))
    wider = ImageConfig.coerce({**TINY.to_dict(), "channels": 16})
    with pytest.raises(RewardError, match="architecture"):
        load_image_encoder(tmp_path / "enc", wider)
    with pytest.raises(RewardError, match="not an image encoder folder"):
        load_image_encoder(tmp_path, TINY)


def test_cell_targets_mark_the_cells_an_object_covers():
    from vipexec.modules.synthetic.scene import ObjectSpec, SceneSpec, render

    script = pretrain_script()
    # One large red square at the left edge on the ground: the bottom-left cells only.
    rendered = render(SceneSpec((ObjectSpec("square", "red", "large", 40, 5),)))
    flags = script.cell_targets(rendered.truth, rendered.owner, (6, 8), 0.05)
    red = script.TARGETS.index(("color", "red"))
    square = script.TARGETS.index(("shape", "square"))
    covered = {int(i) for i in np.flatnonzero(flags[:, red])}
    assert covered and all(divmod(i, 8)[1] <= 1 and divmod(i, 8)[0] >= 4 for i in covered)
    assert (flags[:, square] == flags[:, red]).all()
    assert flags.sum(1)[sorted(covered)].tolist() == [3] * len(covered)  # shape, colour, size


def test_pretraining_on_scene_truth_lowers_the_loss():
    script = pretrain_script()
    pixels, targets = script.scenes(24, 5, TINY, 0.05)
    assert targets.shape == (24, 24, len(script.TARGETS))
    losses = []
    torch.manual_seed(0)
    pretrain(
        ImageEncoder(TINY),
        pixels,
        targets,
        epochs=4,
        batch_size=8,
        report=lambda epoch, loss: losses.append(loss),
    )
    assert losses[-1] < losses[0]


def test_the_image_changes_the_scores_and_later_steps_do_not(tiny_bert_dir, two_images):
    net, encoder = build_net(tiny_bert_dir)
    a, b = two_images
    base = probs(net, encoder, [(STEPS, [a])])
    other = probs(net, encoder, [(STEPS, [b])])
    assert not torch.allclose(base[0, :3], other[0, :3])
    edited = [STEPS[0], "in this step , we return 7 as the color of the large sphere .", STEPS[2]]
    changed = probs(net, encoder, [(edited, [a])])
    torch.testing.assert_close(changed[0, 0], base[0, 0], rtol=0, atol=1e-6)
    assert not torch.allclose(changed[0, 1], base[0, 1])
    # Next to a row with another image and more padding, the scores stay the same.
    batched = probs(net, encoder, [(STEPS[:1], [b]), (STEPS, [a])])
    torch.testing.assert_close(batched[1, :3], base[0, :3], rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", ["linear", "and"])
def test_baseline_heads_also_read_the_image(tiny_bert_dir, two_images, kind):
    net, encoder = build_net(tiny_bert_dir, kind=kind)
    a, b = two_images
    assert not torch.allclose(
        probs(net, encoder, [(STEPS, [a])]), probs(net, encoder, [(STEPS, [b])])
    )


def test_a_row_without_an_image_scores_on_text_alone(tiny_bert_dir, two_images):
    net, encoder = build_net(tiny_bert_dir)
    alone = probs(net, encoder, [(STEPS, [])])
    beside = probs(net, encoder, [(STEPS, []), (STEPS, [two_images[0]])])
    torch.testing.assert_close(beside[0], alone[0], rtol=0, atol=1e-6)


def test_frozen_image_tokens_are_cached_per_image(two_images):
    tokens = ImageTokens(TINY)
    a, b = two_images
    first, present = tokens([[a], [b], [a], []], torch.device("cpu"))
    assert present.tolist() == [True, True, True, False]
    assert tokens.cached() == 2
    torch.testing.assert_close(first[0], first[2])
    assert torch.count_nonzero(first[3]) == 0
    again, _ = tokens([[b]], torch.device("cpu"))
    torch.testing.assert_close(again[0], first[1], rtol=0, atol=0)
    # Cached tokens are the fresh ones rounded through float16, nothing else.
    fresh = tokens.encoder(torch.stack([tokens_pixels(a)]))[0]
    torch.testing.assert_close(first[0], fresh.half().float(), rtol=0, atol=0)
    assert not any(p.requires_grad for p in tokens.parameters())


def tokens_pixels(path):
    from vipexec.reward.vision import load_pixels

    return load_pixels(path, TINY)


def test_pixels_from_arrays_and_paths_agree(two_images):
    from vipexec.reward.vision import load_pixels

    array = np.asarray(Image.open(two_images[0]).convert("RGB"))
    torch.testing.assert_close(load_pixels(array, TINY), load_pixels(two_images[0], TINY))
    with pytest.raises(RewardError, match="cannot read image"):
        load_pixels(two_images[0].parent / "missing.png", TINY)


def test_pretrained_weights_load_and_exports_carry_them(tiny_bert_dir, two_images, tmp_path):
    torch.manual_seed(7)
    save_image_encoder(ImageEncoder(TINY), tmp_path / "enc")
    net, encoder = build_net(tiny_bert_dir, weights=str(tmp_path / "enc"))
    stored = load_image_encoder(tmp_path / "enc", TINY)
    torch.testing.assert_close(net.images.encoder.state_dict(), stored.state_dict())
    write_export(net.config, net.state_dict(), encoder, tmp_path / "export")
    # The export is self-contained: the encoder folder is not needed to load it.
    (tmp_path / "enc" / "encoder.safetensors").unlink()
    model = RewardModel.load(tmp_path / "export")
    a, b = two_images
    with_a = model.score(PROMPT, STEPS, images=[str(a)])
    expected = probs(net, encoder, [(STEPS, [a])])[0]
    got = torch.tensor([[s[d] for d in ("relevance", "logic", "attribute")] for s in with_a])
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    assert model.score(PROMPT, STEPS, images=[str(b)]) != with_a
    assert model.score(PROMPT, STEPS, images=[np.asarray(Image.open(a))]) == with_a


def test_a_text_only_config_has_no_image_encoder(tiny_bert_dir):
    net, _ = build_net(tiny_bert_dir, image=ImageConfig())
    assert net.images is None
    assert not any(k.startswith("images.") for k in net.state_dict())


def test_fit_export_and_score_a_multimodal_model_through_the_cli(
    capfd, tiny_bert_dir, two_images, fixture_module, tmp_path
):
    import json
    import shutil

    from vipexec.reward.cli import main

    torch.manual_seed(1)
    save_image_encoder(ImageEncoder(TINY), tmp_path / "enc")
    for path in two_images:
        shutil.copy(path, tmp_path / path.name)
    rows = fixture_module.generate(queries=8, programs=2, seed=4, val_share=0.3, test_share=0.0)
    for i, row in enumerate(rows):
        row["images"] = [two_images[i % 2].name]  # relative to the data file's folder
    data = tmp_path / "steps.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    image_args = [f"--model.image.{k}={v}" for k, v in TINY.architecture().items()]
    code = main(
        [
            "fit",
            "--config",
            "minilm-image",
            "--data.path",
            str(data),
            "--model.backbone.name_or_path",
            str(tiny_bert_dir),
            "--model.head.attn_dim=16",
            "--model.head.attn_heads=2",
            f"--model.image.weights={tmp_path / 'enc'}",
            *image_args,
            "--trainer.max_epochs=1",
            f"--trainer.default_root_dir={tmp_path / 'run'}",
            "--trainer.enable_progress_bar=false",
        ]
    )
    _, err = capfd.readouterr()
    assert code == 0, err
    ckpt = next((tmp_path / "run" / "checkpoints").glob("*.ckpt"))
    assert main(["export", str(ckpt), str(tmp_path / "export")]) == 0
    model = RewardModel.load(tmp_path / "export")
    assert model.config.image.enabled
    a, b = (str(tmp_path / p.name) for p in two_images)
    assert model.score(rows[0]["prompt"], rows[0]["completions"], images=[a]) != model.score(
        rows[0]["prompt"], rows[0]["completions"], images=[b]
    )
