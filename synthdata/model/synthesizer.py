"""Public API of the GAN stage: fit on a clean interaction table, sample rows, save and load.

    syn = Synthesizer(schema, epochs=50, seed=0).fit(train_df, checkpoint_dir="ckpt/")
    rows = syn.sample(10_000, conditions={"user_id": [1, 2, 3] * 10})   # exactly those users
    syn.sample_to_parquet("synth.parquet", 10_000_000)                   # streamed, bounded memory
    syn.save("model.ckpt"); Synthesizer.load("model.ckpt")               # loads on a CPU-only host

`epochs` is the total epoch count, also across `resume=True` (continue from `last.ckpt` in
`checkpoint_dir`, e.g. after the job was killed). `init_from` warm-starts from a saved model: every
weight whose shape still fits is copied, then training continues on the new data.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger

from synthdata.errors import ConfigError, InputError
from synthdata.log import get_logger, kv, quiet_lightning
from synthdata.model.gan import TRANSFORMER_KEY, GanDataModule, GanModule
from synthdata.model.sample import iter_batches, write_parquet
from synthdata.model.transform import DataTransformer
from synthdata.schema import Role, Schema

log = get_logger(__name__)
quiet_lightning()  # notebooks and scripts too, not only the CLI

FORMAT = "synthdata-gan"
FORMAT_VERSION = 1
_TRANSFORMER_HP = {"n_modes", "bgm_rows", "bgm_iter", "max_discrete_int", "max_categories", "id_dim"}
_MODULE_HP = {
    "z_dim",
    "gen_hidden",
    "dis_hidden",
    "pac",
    "lr_g",
    "lr_d",
    "weight_decay",
    "gp_lambda",
    "gp_fraction",
    "d_steps",
    "cond_weight",
    "tau",
    "id_temperature",
    "val_rows",
}
_TRAINER_HP = {"patience", "progress_bar", "val_every", "val_max_rows", "num_threads", "sample_batch"}


def _gan_strategy(strategy: Any) -> Any:
    """DDP for a GAN: each optimiser step uses only one network's parameters, so plain DDP would
    abort on 'unused parameters'. Map Lightning's DDP names to their find-unused variant."""
    if isinstance(strategy, str) and strategy in {"ddp", "ddp_spawn", "ddp_fork", "ddp_notebook"}:
        return f"{strategy}_find_unused_parameters_true"
    return strategy


def _selection_from_last(last: Path, epochs: int, steps: int) -> tuple[str, Any, int, int]:
    """Best checkpoint path/score and progress as recorded in `last.ckpt` (ModelCheckpoint state)."""
    state = torch.load(last, map_location="cpu", weights_only=False)
    best, score = "", None
    for cb_state in state.get("callbacks", {}).values():
        if isinstance(cb_state, dict) and cb_state.get("best_model_path"):
            best, score = cb_state["best_model_path"], cb_state.get("best_model_score")
    return best, score, max(epochs, int(state.get("epoch", -1)) + 1), max(steps, int(state["global_step"]))


class LogProgress(pl.Callback):
    """One structured log line per epoch, for runs without a terminal (nightly jobs, CI logs)."""

    def __init__(self, total_epochs: int) -> None:
        self.total = total_epochs

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            score = trainer.callback_metrics.get("val_fidelity")
            log.info(
                kv(
                    task="train",
                    epoch=trainer.current_epoch + 1,
                    total=self.total,
                    val_fidelity=f"{float(score):.4f}" if score is not None else "-",
                )
            )


def _arrow_schema_bytes(df: pd.DataFrame) -> bytes:
    return pa.Table.from_pandas(df, preserve_index=False).schema.serialize().to_pybytes()


def _match_codes(values: np.ndarray, categories: np.ndarray, column: str) -> np.ndarray:
    """Codes of requested values; values match exactly or by text (CLI gives `rating=5` as '5')."""
    codes = pd.Categorical(
        pd.Series(values, dtype=object), categories=pd.Index(categories, dtype=object)
    ).codes
    codes = codes.astype(np.int64)
    if (codes < 0).any():
        by_text = {str(c): i for i, c in enumerate(categories)}
        miss = codes < 0
        codes[miss] = [by_text.get(str(v), -1) for v in values[miss]]  # only unmatched condition values
        if (codes < 0).any():
            bad = values[codes < 0][0]
            raise InputError(f"condition value {bad!r} does not occur in the training data", column=column)
    return codes


class Synthesizer:
    """Tabular GAN for interaction tables (see module docstring)."""

    def __init__(
        self,
        schema: Schema,
        *,
        epochs: int = 100,
        batch_size: int = 2000,
        max_minutes: float | None = None,
        seed: int = 0,
        accelerator: str = "auto",
        devices: int | str | list[int] = "auto",
        strategy: str = "auto",
        **hp: Any,
    ) -> None:
        unknown = set(hp) - _TRANSFORMER_HP - _MODULE_HP - _TRAINER_HP
        if unknown:
            raise ConfigError(f"unknown synthesizer hyperparameters: {sorted(unknown)}")
        if epochs < 0 or batch_size < 1:
            raise ConfigError("epochs must be >= 0 and batch_size >= 1")
        self.schema = schema
        self.epochs, self.batch_size, self.max_minutes, self.seed = epochs, batch_size, max_minutes, seed
        self.accelerator, self.devices, self.strategy = accelerator, devices, strategy
        self.hp = dict(hp)
        self.transformer: DataTransformer | None = None
        self.module: GanModule | None = None
        self._arrow_schema: bytes | None = None
        self.meta: dict[str, Any] = {}

    # ------------------------------------------------------------------ fit
    @contextlib.contextmanager
    def _threads(self) -> Iterator[None]:
        """torch intra-op threads for fit/sample, restored afterwards.

        Default 1: the networks are small, so extra threads gain little on CPU, and on a shared box an
        oversubscribed OpenMP pool made a 2-thread epoch ~40× slower than a 1-thread one. Scale out
        with `devices`/`strategy` (processes) or a GPU instead.
        """
        prev = torch.get_num_threads()
        torch.set_num_threads(int(self.hp.get("num_threads", 1)))
        try:
            yield
        finally:
            torch.set_num_threads(prev)

    def fit(
        self,
        df: pd.DataFrame,
        *,
        val_df: pd.DataFrame | None = None,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        init_from: str | Path | None = None,
        callbacks: Sequence[pl.Callback] = (),
    ) -> Synthesizer:
        """Fit on the clean table `df` (see the module docstring for resume/init_from).

        `callbacks` are extra Lightning callbacks (e.g. a pipeline's stop-on-signal check).
        """
        with self._threads():
            return self._fit(df, val_df, checkpoint_dir, resume, init_from, list(callbacks))

    def _fit(
        self,
        df: pd.DataFrame,
        val_df: pd.DataFrame | None,
        checkpoint_dir: str | Path | None,
        resume: bool,
        init_from: str | Path | None,
        extra_callbacks: list[pl.Callback],
    ) -> Synthesizer:
        t0 = time.perf_counter()
        pl.seed_everything(self.seed, workers=True, verbose=False)
        with tempfile.TemporaryDirectory(prefix="synthdata-ckpt-") as tmp:
            ckdir = Path(checkpoint_dir) if checkpoint_dir is not None else Path(tmp)
            ckdir.mkdir(parents=True, exist_ok=True)
            last = ckdir / "last.ckpt"
            resume_path = last if resume and last.exists() else None
            if resume and resume_path is None:
                log.info(kv(event="resume_fresh", reason="no last.ckpt", dir=ckdir))
            if resume_path is not None:
                state = torch.load(resume_path, map_location="cpu", weights_only=False)
                self.transformer = pickle.loads(state[TRANSFORMER_KEY])
            else:
                self.transformer = DataTransformer(
                    self.schema, seed=self.seed, **{k: v for k, v in self.hp.items() if k in _TRANSFORMER_HP}
                ).fit(df)
            tr = self.transformer
            t_fit = time.perf_counter() - t0
            encoded = tr.transform(df, seed=self.seed)
            codes = tr.encode_codes(df)
            val_max = int(self.hp.get("val_max_rows", 5000))
            ref = val_df if val_df is not None and len(val_df) else df
            ref = ref[tr.output_columns]
            if len(ref) > val_max:
                ref = ref.sample(val_max, random_state=self.seed)
            module = GanModule(
                tr,
                batch_size=self.batch_size,
                val_seed=self.seed,
                **{k: v for k, v in self.hp.items() if k in _MODULE_HP},
            )
            if init_from is not None and resume_path is None:
                self._warm_start(module, Path(init_from))
            dm = GanDataModule(encoded, codes, ref.reset_index(drop=True), module.batch_size)
            ckpt_cb = ModelCheckpoint(
                dirpath=ckdir,
                filename="best",
                monitor="val_fidelity",
                mode="max",
                save_top_k=1,
                save_last=True,
            )
            callbacks: list[pl.Callback] = [ckpt_cb, *extra_callbacks]
            if not self.hp.get("progress_bar", True):
                callbacks.append(LogProgress(self.epochs))  # unattended: plain lines, not a bar
            if self.hp.get("patience"):
                callbacks.append(
                    EarlyStopping(monitor="val_fidelity", mode="max", patience=int(self.hp["patience"]))
                )
            trainer = pl.Trainer(
                max_epochs=self.epochs,
                max_time=timedelta(minutes=self.max_minutes) if self.max_minutes else None,
                accelerator=self.accelerator,
                devices=self.devices,
                strategy=_gan_strategy(self.strategy),
                callbacks=callbacks,
                logger=CSVLogger(save_dir=str(ckdir), name="logs"),
                enable_progress_bar=bool(self.hp.get("progress_bar", True)),
                enable_model_summary=False,
                num_sanity_val_steps=0,
                check_val_every_n_epoch=int(self.hp.get("val_every", 1)),
                log_every_n_steps=max(1, min(50, dm.steps_per_epoch)),
                deterministic="warn",
            )
            t1 = time.perf_counter()
            with warnings.catch_warnings():
                # our checkpoint dir also holds the CSV logs, and resumes reuse it on purpose
                warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
                warnings.filterwarnings("ignore", message=".*LeafSpec.*")
                trainer.fit(module, datamodule=dm, ckpt_path=str(resume_path) if resume_path else None)
            t_train = time.perf_counter() - t1
            best, score = ckpt_cb.best_model_path, ckpt_cb.best_model_score
            epochs, steps = int(trainer.current_epoch), int(trainer.global_step)
            if (not best or steps == 0) and (ckdir / "last.ckpt").exists():
                # Spawned DDP workers keep the loop (and maybe callback) state: read their last.ckpt.
                lbest, lscore, epochs, steps = _selection_from_last(ckdir / "last.ckpt", epochs, steps)
                best, score = (best or lbest), (score if score is not None else lscore)
            if best and Path(best).exists():  # model selection on the validation fidelity score
                sd = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
                module.load_state_dict(sd)
            module.cpu().eval()
            module.data = None
            module.cond.detach_rows()
            self.module = module
            self._arrow_schema = _arrow_schema_bytes(df[tr.output_columns].head(2000))
            self.meta = {
                "epochs_trained": epochs,
                "global_step": steps,
                "best_val_fidelity": float(score) if score is not None else None,
                "train_rows": len(df),
                "transform_fit_seconds": round(t_fit, 3),
                "train_seconds": round(t_train, 3),
                "steps_per_epoch": dm.steps_per_epoch,
            }
        log.info(kv(event="fit_done", **self.meta))
        return self

    def _warm_start(self, module: GanModule, path: Path) -> None:
        """Copy every generator/critic weight whose shape still fits (layouts may differ slightly)."""
        state = _load_state(path)
        copied = skipped = 0
        for net, key in ((module.generator, "generator"), (module.discriminator, "discriminator")):
            own = net.state_dict()
            for name, t in state[key].items():
                if name in own and own[name].shape == t.shape:
                    own[name] = t
                    copied += 1
                else:
                    skipped += 1
            net.load_state_dict(own)
        if copied == 0:
            raise ConfigError(f"init_from {path}: no weight fits this data's layout; train from scratch")
        log.info(kv(event="warm_start", source=path, copied=copied, skipped=skipped))

    # ------------------------------------------------------------------ sample
    def _require(self) -> GanModule:
        if self.module is None or self.transformer is None:
            raise ConfigError("the synthesizer is not fitted: call fit() or Synthesizer.load() first")
        return self.module

    def _resolve(self, conditions: dict[str, Any] | None, n: int, seed: int) -> dict[str, np.ndarray]:
        """Turn user conditions into exact per-row codes of conditionable columns (no rejection)."""
        if not conditions:
            return {}
        tr = self.transformer
        assert tr is not None
        rng = np.random.default_rng([seed, 7])
        fixed: dict[str, np.ndarray] = {}
        attr_conds: dict[str, dict[str, np.ndarray]] = {}
        for col, vals in conditions.items():
            if col not in tr.output_columns:
                raise ConfigError(f"cannot condition on {col!r}: not a column of the model")
            arr = np.asarray(
                vals if isinstance(vals, list | tuple | np.ndarray | pd.Series) else [vals], dtype=object
            )
            if len(arr) == 1:
                arr = np.repeat(arr, n)
            if len(arr) != n:
                raise ConfigError(f"condition {col!r} has {len(arr)} values for {n} rows (give 1 or {n})")
            role = self.schema.column(col).role
            if col in tr.catalogues:
                fixed[col] = _match_codes(arr, tr.catalogues[col].values, col)
            elif role in (Role.USER_ATTRIBUTE, Role.ITEM_ATTRIBUTE):
                attr_conds.setdefault(tr.attribute_owner[col], {})[col] = arr
            else:
                info = tr.column_info(col) if col in [c.name for c in tr.columns] else None
                if info is None or info.kind != "discrete":
                    raise ConfigError(
                        f"cannot condition on {col!r}: only ids, their attributes and discrete columns"
                    )
                fixed[col] = _match_codes(arr, info.categories, col)
        for owner, attrs in attr_conds.items():
            cat = tr.catalogues[owner]
            table = cat.attributes[list(attrs)].astype(str)
            frame = pd.DataFrame({a: pd.Series(v, dtype=object).astype(str) for a, v in attrs.items()})
            out = fixed.get(owner)
            given = out is not None
            codes = out if given else np.empty(n, dtype=np.int64)
            for key, rows in frame.groupby(list(attrs), sort=True).indices.items():
                key_t = key if isinstance(key, tuple) else (key,)
                mask = np.ones(cat.n, dtype=bool)
                for a, v in zip(attrs, key_t, strict=True):
                    mask &= table[a].to_numpy() == v
                desc = ", ".join(f"{a}={v}" for a, v in zip(attrs, key_t, strict=True))
                if given:
                    bad = ~mask[codes[rows]]
                    if bad.any():
                        raise InputError(
                            f"{owner} {cat.values[codes[rows][bad][0]]!r} does not have {desc}", column=owner
                        )
                    continue
                cand = np.flatnonzero(mask)
                if len(cand) == 0:
                    raise InputError(f"no {owner} in the training data has {desc}", column=next(iter(attrs)))
                p = cat.counts[cand] / cat.counts[cand].sum()
                codes[rows] = rng.choice(cand, size=len(rows), p=p)
            fixed[owner] = codes
        return fixed

    def sample(
        self, n: int, conditions: dict[str, Any] | None = None, seed: int | None = None
    ) -> pd.DataFrame:
        """`n` rows with the clean table's columns and dtypes; conditions are exact."""
        module = self._require()
        seed = self.seed if seed is None else seed
        fixed = self._resolve(conditions, n, seed)
        with self._threads():
            parts = list(
                iter_batches(
                    module, n, fixed=fixed, seed=seed, batch_rows=int(self.hp.get("sample_batch", 50_000))
                )
            )
        if not parts:
            return self.sample(1, seed=seed).iloc[:0]
        return pd.concat(parts, ignore_index=True)

    def sample_to_parquet(
        self,
        path: str | Path,
        n: int,
        *,
        conditions: dict[str, Any] | None = None,
        seed: int | None = None,
        batch_rows: int = 50_000,
    ) -> int:
        """Stream `n` rows to one Parquet file in batches of `batch_rows`; returns rows written."""
        module = self._require()
        seed = self.seed if seed is None else seed
        fixed = self._resolve(conditions, n, seed)
        schema = pa.ipc.read_schema(pa.py_buffer(self._arrow_schema)) if self._arrow_schema else None
        with self._threads():
            return write_parquet(
                iter_batches(module, n, fixed=fixed, seed=seed, batch_rows=batch_rows), path, schema
            )

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """One file: config, schema, transformer, generator and critic weights (CPU tensors)."""
        module = self._require()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "schema_yaml": self.schema.to_yaml(),
            "config": {
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "max_minutes": self.max_minutes,
                "seed": self.seed,
                "accelerator": self.accelerator,
                "devices": self.devices,
                "strategy": self.strategy,
                "hp": self.hp,
            },
            "module_hparams": dict(module.hparams),
            "transformer": pickle.dumps(self.transformer),
            "generator": {k: v.detach().cpu() for k, v in module.generator.state_dict().items()},
            "discriminator": {k: v.detach().cpu() for k, v in module.discriminator.state_dict().items()},
            "arrow_schema": self._arrow_schema,
            "meta": self.meta,
        }
        buf = io.BytesIO()
        torch.save(state, buf)
        tmp = path.with_name(path.name + ".partial")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Synthesizer:
        """Load a saved model onto the CPU (works for models trained on a GPU)."""
        state = _load_state(Path(path))
        import yaml

        schema = Schema.from_dict(yaml.safe_load(state["schema_yaml"]), origin=f"{path} (embedded schema)")
        cfg = state["config"]
        syn = cls(
            schema,
            epochs=cfg["epochs"],
            batch_size=cfg["batch_size"],
            max_minutes=cfg["max_minutes"],
            seed=cfg["seed"],
            accelerator=cfg["accelerator"],
            devices=cfg["devices"],
            strategy=cfg["strategy"],
            **cfg["hp"],
        )
        syn.transformer = pickle.loads(state["transformer"])
        hp = dict(state["module_hparams"])
        module = GanModule(syn.transformer, **hp)
        module.generator.load_state_dict(state["generator"])
        module.discriminator.load_state_dict(state["discriminator"])
        syn.module = module.cpu().eval()
        syn._arrow_schema = state["arrow_schema"]
        syn.meta = state.get("meta", {})
        return syn


def _load_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise InputError("model file not found", path=str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # corrupt / not a torch file
        raise InputError(f"cannot read model file: {e}", path=str(path)) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError("not a synthdata model file (saved by Synthesizer.save)", path=str(path))
    if state.get("version") != FORMAT_VERSION:
        raise InputError(f"model format version {state.get('version')} is not supported", path=str(path))
    return state
