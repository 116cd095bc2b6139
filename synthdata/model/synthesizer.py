"""Public API of the model stage: fit on a clean interaction table, sample rows, save and load.

    syn = Synthesizer(schema, model="vae", epochs=50, seed=0).fit(train_df, checkpoint_dir="ckpt/")
    rows = syn.sample(10_000, conditions={"user_id": [1, 2, 3] * 10})   # exactly those users
    syn.sample_to_parquet("synth.parquet", 10_000_000)                   # streamed, bounded memory
    syn.save("model.ckpt"); Synthesizer.load("model.ckpt")               # data only; loads on a CPU host

`model` names a backend (`BACKENDS`: gan, vae); `**hp` are its typed hyperparameters (unknown or
mistyped keys are a ConfigError naming the key). `epochs` is the total epoch count, also across
`resume=True` (continue from `last.ckpt` in `checkpoint_dir` after the job was killed; refused when
the checkpoint was made for another table, schema, model or hyperparameters). `init_from`
warm-starts from a saved model of the same schema; another schema needs `warm_start_partial=True`
and logs a WARNING listing the tensors copied and not copied.

Fitting imports Lightning; loading and sampling do not (a `generate` starts in about a second).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from synthdata.errors import ConfigError, InputError
from synthdata.log import get_logger
from synthdata.model.backend import Backend, parse_hyper
from synthdata.model.checkpoint import read_model, transformer_from_state, transformer_state, write_model
from synthdata.model.condition import ConditionSampler, resolve_conditions
from synthdata.model.registry import backend
from synthdata.model.sample import iter_batches, write_rows
from synthdata.model.seeds import seed_for
from synthdata.model.transform import DataTransformer
from synthdata.schema import Schema

log = get_logger(__name__)
_CONFIG = ("epochs", "batch_size", "max_minutes", "seed", "accelerator", "devices", "strategy")


class Synthesizer:
    """Tabular generative model for interaction tables (see module docstring)."""

    def __init__(
        self,
        schema: Schema,
        *,
        model: str = "gan",
        epochs: int = 100,
        batch_size: int = 2000,
        max_minutes: float | None = None,
        seed: int = 0,
        accelerator: str = "auto",
        devices: int | str | list[int] = "auto",
        strategy: str = "auto",
        **hp: Any,
    ) -> None:
        self.backend: type[Backend] = backend(model)
        self.hyper = parse_hyper(self.backend, hp)
        if epochs < 0 or batch_size < 1:
            raise ConfigError("epochs must be >= 0 and batch_size >= 1")
        self.schema = schema
        self.epochs, self.batch_size, self.max_minutes, self.seed = epochs, batch_size, max_minutes, seed
        self.accelerator, self.devices, self.strategy = accelerator, devices, strategy
        self.hp = dict(hp)
        self.transformer: DataTransformer | None = None
        self.net: Backend | None = None
        self.cond: ConditionSampler | None = None
        self._arrow_schema: bytes | None = None
        self.meta: dict[str, Any] = {}

    @property
    def model(self) -> str:
        return self.backend.name

    @contextlib.contextmanager
    def _threads(self) -> Iterator[None]:
        """torch intra-op threads for fit/sample, restored afterwards.

        Default 1: the networks are small, so extra threads gain little on CPU, and on a shared box an
        oversubscribed OpenMP pool made a 2-thread epoch ~40× slower than a 1-thread one. Scale out
        with `devices`/`strategy` (processes) or a GPU instead.
        """
        prev = torch.get_num_threads()
        torch.set_num_threads(self.hyper.num_threads)
        try:
            yield
        finally:
            torch.set_num_threads(prev)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        df: pd.DataFrame,
        *,
        val_df: pd.DataFrame | None = None,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        init_from: str | Path | None = None,
        warm_start_partial: bool = False,
        callbacks: Sequence[Any] = (),
    ) -> Synthesizer:
        """Fit on the clean table `df` (see the module docstring for resume/init_from).

        `callbacks` are extra Lightning callbacks (e.g. a pipeline's stop-on-signal check).
        """
        from synthdata.model.fit import fit_synthesizer  # Lightning is imported only here

        with self._threads():
            fit_synthesizer(
                self, df, val_df, checkpoint_dir, resume, init_from, warm_start_partial, list(callbacks)
            )
        return self

    def build(self, tr: DataTransformer) -> tuple[Backend, ConditionSampler]:
        """Networks and condition sampler for a fitted transformer (fresh weights)."""
        cond = ConditionSampler(tr)
        return self.backend(tr.output_dim, cond.cond_dim, tr.output_info, self.hyper), cond

    def document(self) -> dict[str, Any]:
        """What a model file or checkpoint says about how the model was made (JSON-able)."""
        return {
            "backend": self.backend.name,
            "schema_yaml": self.schema.to_yaml(),
            "config": {k: getattr(self, k) for k in _CONFIG},
            "hp": self.hyper.model_dump(mode="json"),
        }

    def set_fitted(
        self, tr: DataTransformer, net: Backend, cond: ConditionSampler, sample_df: pd.DataFrame
    ) -> None:
        net.cpu().eval()
        cond.detach_rows()
        cond.cpu()
        self.transformer, self.net, self.cond = tr, net, cond
        self._arrow_schema = (
            pa.Table.from_pandas(sample_df[tr.output_columns].head(2000), preserve_index=False)
            .schema.serialize()
            .to_pybytes()
        )

    # ------------------------------------------------------------------ sample
    def _require(self) -> tuple[Backend, ConditionSampler, DataTransformer]:
        if self.net is None or self.cond is None or self.transformer is None:
            raise ConfigError("the synthesizer is not fitted: call fit() or Synthesizer.load() first")
        return self.net, self.cond, self.transformer

    def _batches(
        self, n: int, conditions: dict[str, Any] | None, seed: int | None, batch_rows: int
    ) -> Iterator[pd.DataFrame]:
        net, cond, tr = self._require()
        seed = self.seed if seed is None else seed
        fixed = resolve_conditions(tr, conditions, n, np.random.default_rng(seed_for(seed, "generate", 0)))
        return iter_batches(
            net, cond, tr, n, fixed=fixed, seed=seed_for(seed, "generate", 1), batch_rows=batch_rows
        )

    def sample(
        self, n: int, conditions: dict[str, Any] | None = None, seed: int | None = None
    ) -> pd.DataFrame:
        """`n` rows with the clean table's columns and dtypes; conditions are exact."""
        with self._threads():
            parts = list(self._batches(n, conditions, seed, self.hyper.sample_batch))
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
        """Stream `n` rows to one file in batches of `batch_rows`; Parquet, or CSV for a `.csv` path."""
        self._require()
        schema = pa.ipc.read_schema(pa.py_buffer(self._arrow_schema)) if self._arrow_schema else None
        with self._threads():
            return write_rows(self._batches(n, conditions, seed, batch_rows), path, schema)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """One file of data (JSON + tensors, see checkpoint.py): never a pickle."""
        net, _, tr = self._require()
        tr_doc, tensors = transformer_state(tr)
        tensors |= {f"net.{k}": v for k, v in net.state_dict().items()}
        if self._arrow_schema:
            tensors["arrow_schema"] = torch.frombuffer(bytearray(self._arrow_schema), dtype=torch.uint8)
        return write_model(Path(path), {**self.document(), "transformer": tr_doc, "meta": self.meta}, tensors)

    @classmethod
    def load(cls, path: str | Path, *, trust_legacy_pickle: bool = False) -> Synthesizer:
        """Load a saved model onto the CPU (works for models trained on a GPU).

        Version-1 files (pickles) are refused unless `trust_legacy_pickle` (see checkpoint.py).
        """
        from synthdata.model.checkpoint import is_pickle

        path = Path(path)
        if trust_legacy_pickle and path.is_file() and is_pickle(path):
            from synthdata.model.legacy import read_legacy

            doc, tensors = read_legacy(path)
        else:
            doc, tensors = read_model(path)
        return cls.from_document(doc, tensors, origin=str(path))

    @classmethod
    def from_document(cls, doc: dict[str, Any], tensors: dict[str, torch.Tensor], origin: str) -> Synthesizer:
        import yaml

        try:
            schema = Schema.from_dict(
                yaml.safe_load(doc["schema_yaml"]), origin=f"{origin} (embedded schema)"
            )
            cfg = doc["config"]
            syn = cls(schema, model=doc["backend"], **{k: cfg[k] for k in _CONFIG}, **doc["hp"])
            tr = transformer_from_state(doc["transformer"], tensors, schema)
            net, cond = syn.build(tr)
            net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise InputError(
                f"model file is damaged or inconsistent ({type(e).__name__}: {str(e).splitlines()[0][:160]})",
                path=origin,
            ) from None
        syn.transformer, syn.net, syn.cond = tr, net.cpu().eval(), cond
        syn._arrow_schema = (
            bytes(tensors["arrow_schema"].numpy().tobytes()) if "arrow_schema" in tensors else None
        )
        syn.meta = doc.get("meta", {})
        return syn
