"""Lightning harness: the reward LightningModule, the step DataModule and a scores writer."""

from __future__ import annotations

import json
import logging
import math
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from torch.utils.data import DataLoader

from vipexec.reward.config import (
    BackboneConfig,
    EncodingConfig,
    HeadConfig,
    ImageConfig,
    LossConfig,
    OptimConfig,
    RewardModelConfig,
)
from vipexec.reward.contract import DIMENSIONS
from vipexec.reward.data import (
    SPLITS,
    StepRowDataset,
    collate_steps,
    load_step_dataset,
    require_labelled,
    split_of,
)
from vipexec.reward.errors import RewardError, StepDataError
from vipexec.reward.export import CHECKPOINT_KEY
from vipexec.reward.heads import MajorityHead
from vipexec.reward.losses import reward_loss
from vipexec.reward.metrics import StepMetrics
from vipexec.reward.model import RewardNet, load_partial
from vipexec.reward.tokenize import StepEncoder

log = logging.getLogger("vipexec.reward")

CHECKPOINT_FORMAT = 1
# Frozen dataclasses: safe to share as defaults.
_BACKBONE = BackboneConfig()
_ENCODING = EncodingConfig()
_HEAD = HeadConfig()
_IMAGE = ImageConfig()
_LOSS = LossConfig()
_OPTIM = OptimConfig()


class RewardLitModule(L.LightningModule):
    """Trains and evaluates a :class:`RewardNet`.

    Args:
        backbone: Backbone settings.
        encoding: Tokenisation settings (shared with inference).
        head: Head kind (TriAtt-CoT or a baseline) and sizes.
        image: Image encoder whose patch tokens the heads attend to (text backbones).
        loss: BCE + contrastive loss settings.
        optim: Optimiser settings.
    """

    def __init__(
        self,
        *,
        backbone: BackboneConfig = _BACKBONE,
        encoding: EncodingConfig = _ENCODING,
        head: HeadConfig = _HEAD,
        image: ImageConfig = _IMAGE,
        loss: LossConfig = _LOSS,
        optim: OptimConfig = _OPTIM,
    ) -> None:
        super().__init__()
        self.config = RewardModelConfig(
            backbone=BackboneConfig.coerce(backbone),
            encoding=EncodingConfig.coerce(encoding),
            head=HeadConfig.coerce(head),
            image=ImageConfig.coerce(image),
            loss=LossConfig.coerce(loss),
        )
        self.optim = OptimConfig.coerce(optim)
        # Plain dicts, so checkpoints load with torch.load(weights_only=True).
        self.save_hyperparameters({**self.config.to_dict(), "optim": self.optim.to_dict()})
        self.net = RewardNet(self.config)
        self.metrics = torch.nn.ModuleDict({f"m_{s}": StepMetrics(f"{s}/") for s in SPLITS})
        self._encoder: StepEncoder | None = None
        if isinstance(self.net.head, MajorityHead):
            # Nothing to optimise: "training" counts labels.
            self.automatic_optimization = False

    def _metrics(self, stage: str) -> StepMetrics:
        # ModuleDict keys must not clash with nn.Module attributes such as "train".
        return self.metrics[f"m_{stage}"]

    @property
    def encoder(self) -> StepEncoder:
        if self._encoder is None:
            self._encoder = StepEncoder.from_config(self.config.backbone, self.config.encoding)
        return self._encoder

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.net.step_probabilities(self.net(batch))

    def _targets(self, batch: dict[str, Any]) -> torch.Tensor:
        return batch["and_labels"] if self.net.outputs_and else batch["labels"]

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor | None:
        size = int(batch["input_ids"].shape[0])
        if isinstance(self.net.head, MajorityHead):
            self.net.head.observe(batch["labels"])
            self._metrics("train").update(self(batch), batch["labels"])
            return None
        out = self.net(batch)
        parts = reward_loss(out, self._targets(batch), batch["step_mask"], self.config.loss)
        self.log("train/loss", parts.total, prog_bar=True, batch_size=size)
        self.log("train/bce", parts.bce, batch_size=size)
        self.log("train/contrastive", parts.contrastive, batch_size=size)
        self._metrics("train").update(self.net.step_probabilities(out).detach(), batch["labels"])
        return parts.total

    def _eval_step(self, batch: dict[str, Any], stage: str) -> None:
        out = self.net(batch)
        size = int(batch["input_ids"].shape[0])
        if not isinstance(self.net.head, MajorityHead):
            parts = reward_loss(out, self._targets(batch), batch["step_mask"], self.config.loss)
            self.log(f"{stage}/loss", parts.total, batch_size=size)
        self._metrics(stage).update(self.net.step_probabilities(out), batch["labels"])

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def _log_metrics(self, stage: str) -> None:
        self.log_dict(self._metrics(stage).compute())
        self._metrics(stage).reset()

    def on_train_epoch_end(self) -> None:
        self._log_metrics("train")

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> list[dict[str, Any]]:
        probs = self(batch).float().cpu()
        return step_records(probs, batch)

    def configure_optimizers(self) -> Any:
        if isinstance(self.net.head, MajorityHead):
            return None
        groups = _param_groups(self.net, self.optim)
        optimizer = torch.optim.AdamW(groups)
        if self.optim.schedule == "constant" and self.optim.warmup_steps == 0:
            return optimizer
        total = max(1, int(self.trainer.estimated_stepping_batches))
        schedule = partial(
            _lr_factor, warmup=self.optim.warmup_steps, total=total, kind=self.optim.schedule
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CHECKPOINT_KEY] = {"format": CHECKPOINT_FORMAT, "config": self.config.to_dict()}

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        def restorable(key: str) -> bool:
            return key.startswith("net.") and self.net.is_restorable(key[len("net.") :])

        return load_partial(self, state_dict, strict=strict, assign=assign, restorable=restorable)


def step_records(probs: torch.Tensor, batch: dict[str, Any]) -> list[dict[str, Any]]:
    """Per row: its id and one score dict per original step (None for dropped steps)."""
    records = []
    for i, row_id in enumerate(batch["row_ids"].tolist()):
        kept = int(batch["step_mask"][i].sum())
        n = int(batch["n_steps"][i])
        scores: list[dict[str, float] | None] = [
            {d: float(probs[i, s, k]) for k, d in enumerate(DIMENSIONS)} for s in range(kept)
        ]
        scores += [None] * (n - kept)
        records.append({"row_id": row_id, "scores": scores})
    return records


def _param_groups(net: RewardNet, optim: OptimConfig) -> list[dict[str, Any]]:
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, param in net.named_parameters():
        if not param.requires_grad:
            continue
        lr = optim.backbone_lr if name.startswith("backbone.") else optim.lr
        no_decay = param.ndim < 2  # biases and norm weights
        groups.setdefault((lr, 0.0 if no_decay else optim.weight_decay), []).append(param)
    if not groups:
        raise RewardError("the model has no trainable parameters")
    return [{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()]


def _lr_factor(step: int, *, warmup: int, total: int, kind: str) -> float:
    if warmup and step < warmup:
        return (step + 1) / warmup
    if kind == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if kind == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


class StepDataModule(L.LightningDataModule):
    """Step dataset splits, held out by query.

    Args:
        path: Step dataset (JSONL/Parquet file, a folder of them, or a list). Rows go to
            train/val/test by ``meta.split``; rows without one by a hash of ``meta.query_id``.
        predict_path: Rows to score in ``predict`` (default: every row of ``path``).
        batch_size: Training batch size (rows).
        eval_batch_size: Validation/test/predict batch size (default: batch_size).
        num_workers: DataLoader worker processes.
        val_fraction: Share of queries hashed into val when rows carry no split.
        test_fraction: Share of queries hashed into test when rows carry no split.
        split_salt: Salt of that hash (change it for a different query split).
        max_rows: Read at most this many rows per dataset (quick runs).
    """

    def __init__(
        self,
        path: str | list[str] | None = None,
        *,
        predict_path: str | None = None,
        batch_size: int = 16,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_salt: str = "vipexec",
        max_rows: int | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1 or (eval_batch_size is not None and eval_batch_size < 1):
            raise RewardError("data batch sizes must be >= 1")
        if num_workers < 0:
            raise RewardError("data.num_workers must be >= 0")
        if not (
            0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1
        ):
            raise RewardError(
                "data.val_fraction and data.test_fraction must be in [0, 1) and sum to less than 1"
            )
        self.path = path
        self.predict_path = predict_path
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.split_salt = split_salt
        self.max_rows = max_rows
        self._encoder: StepEncoder | None = None
        self._splits: dict[str, Any] | None = None
        self.datasets: dict[str, StepRowDataset] = {}
        self.truncation: dict[str, dict[str, int]] = {}
        # Read and validate now: a missing file or a bad row fails before a model is built.
        # Labels are checked per stage (predict scores unlabelled rows).
        self._rows = self._read(path)
        self._predict_rows = self._read(predict_path)

    def _read(self, path: Any) -> Any:
        if path is None:
            return None
        return load_step_dataset(path, max_rows=self.max_rows, require_labels=False)

    def attach_encoder(self, encoder: StepEncoder) -> None:
        """Use this encoder instead of the one of the trainer's LightningModule."""
        if encoder is not self._encoder:
            self.datasets.clear()  # encoded with the previous encoder
            self.truncation.clear()
        self._encoder = encoder

    @property
    def encoder(self) -> StepEncoder:
        if self._encoder is None:
            module = getattr(self.trainer, "lightning_module", None) if self.trainer else None
            if module is None or not hasattr(module, "encoder"):
                raise RewardError("StepDataModule needs an encoder: attach_encoder() or a trainer")
            self._encoder = module.encoder
        return self._encoder

    def split_rows(self) -> dict[str, Any]:
        """The dataset at ``path`` divided into train/val/test (loaded once)."""
        if self._splits is None:
            if self._rows is None:
                raise RewardError("data.path is not set")
            rows = self._rows
            names = [
                split_of(
                    r["meta"],
                    prompt=r["prompt"],
                    val_fraction=self.val_fraction,
                    test_fraction=self.test_fraction,
                    salt=self.split_salt,
                )
                for r in rows
            ]
            self._splits = {
                s: rows.select([i for i, n in enumerate(names) if n == s]) for s in SPLITS
            }
        return self._splits

    def _build(self, name: str, rows: Any) -> None:
        ds = StepRowDataset(rows, self.encoder)
        self.datasets[name] = ds
        if not self.encoder.is_vlm and len(ds):
            stats = ds.truncation()
            self.truncation[name] = stats
            if stats["dropped_steps"]:
                log.warning(
                    "%s: %d of %d steps dropped (marker beyond max_length) in %d rows",
                    name,
                    stats["dropped_steps"],
                    stats["steps"],
                    stats["rows_with_dropped_steps"],
                )

    def setup(self, stage: str) -> None:
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}
        if stage == "predict":
            rows = self._predict_rows if self._predict_rows is not None else self._rows
            if rows is None:
                raise RewardError("predict needs data.predict_path or data.path")
            self._build("predict", rows)
            return
        splits = self.split_rows()
        for name in wanted.get(stage, ()):
            if name not in self.datasets:
                require_labelled(splits[name])
                self._build(name, splits[name])
        if stage == "fit" and len(self.datasets["train"]) == 0:
            raise StepDataError(
                "no training rows (check meta.split or the fractions)", source=str(self.path)
            )

    def _loader(self, name: str, *, train: bool = False) -> DataLoader:
        if name not in self.datasets:
            self.setup({"train": "fit", "val": "validate"}.get(name, name))
        return DataLoader(
            self.datasets[name],
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            num_workers=self.num_workers,
            collate_fn=partial(collate_steps, pad_id=self.encoder.pad_id),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict")


class ScoresWriter(BasePredictionWriter):
    """Writes ``predict`` results as JSONL: each input row plus ``scores`` (one
    ``{relevance, logic, attribute}`` dict per step, null for a dropped step).

    Args:
        path: Output JSONL file; null writes nothing.
    """

    def __init__(self, path: str | None = None) -> None:
        super().__init__(write_interval="batch")
        self.path = path
        self._handle: Any = None

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.path is not None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "w", encoding="utf-8")  # noqa: SIM115

    def write_on_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        prediction: Any,
        batch_indices: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        if self._handle is None:
            return
        dataset = trainer.datamodule.datasets["predict"]
        for record in prediction:
            row = dict(dataset.row(record["row_id"]))
            for key in ("_file", "_row", "_labelled"):
                row.pop(key, None)
            row["scores"] = record["scores"]
            self._handle.write(json.dumps(row) + "\n")

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
