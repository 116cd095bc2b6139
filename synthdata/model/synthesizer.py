"""Public API of the model stage: fit on a clean interaction table, sample rows, save and load.

    syn = Synthesizer(schema, model="vae", epochs=50, seed=0).fit(train_df, checkpoint_dir="ckpt/")
    rows = syn.sample(10_000, conditions={"user_id": [1, 2, 3] * 10})   # exactly those users
    syn.sample_to_parquet("synth.parquet", 10_000_000)                   # streamed, bounded memory
    syn.save("model.ckpt"); Synthesizer.load("model.ckpt")               # data only; loads on a CPU host

`model` names a backend (`BACKENDS`: gan, vae in the row family; multvae, multdae in the histories
family, see model/family.py); `**hp` are its typed hyperparameters (unknown or mistyped keys are a
ConfigError naming the key). A histories model also makes virtual users and neighbours:

    syn = Synthesizer(schema, model="multvae").fit(train_df)  # 200 epochs: the family's default
    users = syn.sample_users(500)                       # 500 virtual users, a whole row per (user, item)
    near = syn.sample_users(like=[17, 42], per_user=5)  # 5 neighbours of each of two real users

`epochs` is the total epoch count (default: the family's, 100 for rows, 200 for histories), also across
`resume=True` (continue from `last.ckpt` in `checkpoint_dir` after the job was killed; refused when
the checkpoint was made for another table, schema, model or hyperparameters). `init_from`
warm-starts from a saved model of the same schema; another schema needs `warm_start_partial=True`
and logs a WARNING listing the tensors copied and not copied. `num_nodes` (with `devices` per node)
trains one DDP job across machines (model/distributed.py, docs/scale-out.md).

`sample(n, seed=s, shard="3/16")` draws only shard 3 of 16 of the rows `sample(n, seed=s)` draws
(model/shard.py): the 16 shards in order are exactly those rows, so a big job runs as independent tasks.

Fitting imports Lightning; loading and sampling do not, so `generate` starts quickly (measured by
`benchmarks/model_startup.py`; recorded figures belong in `benchmarks/results/`, not here).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import torch

from synthdata.errors import ConfigError, InputError
from synthdata.log import get_logger
from synthdata.model.checkpoint import STATE_KEYS, read_model, write_model
from synthdata.model.distributed import check_num_nodes
from synthdata.model.family import Family, Fitted, GenerativeNet, Request, parse_hyper
from synthdata.model.registry import backend, family_of
from synthdata.model.rows.sample import write_rows
from synthdata.model.shard import Shard, rebatch
from synthdata.schema import Schema

log = get_logger(__name__)
_CONFIG = ("epochs", "batch_size", "max_minutes", "seed", "accelerator", "devices", "strategy", "num_nodes")
_CONFIG_ADDED = {"num_nodes": 1}  # what model files written before a key existed mean by its absence


class Synthesizer:
    """Tabular generative model for interaction tables (see module docstring)."""

    def __init__(
        self,
        schema: Schema,
        *,
        model: str = "gan",
        epochs: int | None = None,
        batch_size: int = 2000,
        max_minutes: float | None = None,
        seed: int = 0,
        accelerator: str = "auto",
        devices: int | str | list[int] = "auto",
        strategy: str = "auto",
        num_nodes: int = 1,
        **hp: Any,
    ) -> None:
        self.backend: type[GenerativeNet] = backend(model)
        self.family: Family = family_of(self.backend)
        self.hyper = parse_hyper(self.backend, hp)
        epochs = self.family.default_epochs if epochs is None else epochs
        if epochs < 0 or batch_size < 1:
            raise ConfigError("epochs must be >= 0 and batch_size >= 1")
        self.schema = schema
        self.epochs, self.batch_size, self.max_minutes, self.seed = epochs, batch_size, max_minutes, seed
        self.accelerator, self.devices, self.strategy = accelerator, devices, strategy
        self.num_nodes = check_num_nodes(num_nodes, strategy)
        self.rank = 0  # this process's global rank in a distributed fit (set by fit)
        self.fitted: Fitted | None = None
        self._arrow_schema: bytes | None = None
        self.meta: dict[str, Any] = {}

    @property
    def model(self) -> str:
        return self.backend.name

    @property
    def encoder(self) -> Any:
        """The family's fitted encoder (rows: the `DataTransformer`); None before fit/load."""
        return self.fitted.encoder if self.fitted else None

    @property
    def transformer(self) -> Any:
        """Row models' `DataTransformer` (the row family's name for its encoder)."""
        return self.encoder

    @property
    def net(self) -> GenerativeNet | None:
        return self.fitted.net if self.fitted else None

    @property
    def cond(self) -> Any:
        """Row models' `ConditionSampler`; None for histories models."""
        return self.fitted.aux if self.fitted else None

    @contextlib.contextmanager
    def _threads(self) -> Iterator[None]:
        """torch intra-op threads for fit/sample, restored afterwards.

        Default 1: the networks are small, so extra threads gain little on CPU, and on a shared box an
        oversubscribed OpenMP pool made epochs many times slower than one thread. Scale out
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
        loggers: Sequence[Any] = (),
    ) -> Synthesizer:
        """Fit on the clean table `df` (see the module docstring for resume/init_from).

        `callbacks` are extra Lightning callbacks (e.g. a pipeline's stop-on-signal check); `loggers`
        extra Lightning loggers (e.g. MLflow's, for the training curves; see synthdata.tracking).
        """
        from synthdata.model.fit import fit_synthesizer  # Lightning is imported only here

        with self._threads():
            fit_synthesizer(
                self,
                df,
                val_df,
                checkpoint_dir,
                resume,
                init_from,
                warm_start_partial,
                list(callbacks),
                extra_loggers=list(loggers),
            )
        return self

    def build(self, encoder: Any) -> Fitted:
        """Networks (fresh weights) and family helper for a fitted encoder."""
        return self.family.build(self.backend, encoder, self.hyper)

    def document(self) -> dict[str, Any]:
        """What a model file or checkpoint says about how the model was made (JSON-able)."""
        return {
            "backend": self.backend.name,
            "schema_yaml": self.schema.to_yaml(),
            "config": {k: getattr(self, k) for k in _CONFIG},
            "hp": self.hyper.model_dump(mode="json"),
        }

    def set_fitted(self, fitted: Fitted, sample_df: pd.DataFrame) -> None:
        fitted.net.cpu().eval()
        self.family.detach(fitted)
        self.fitted = fitted
        cols = self.family.output_columns(fitted.encoder)
        self._arrow_schema = (
            pa.Table.from_pandas(sample_df[cols].head(2000), preserve_index=False)
            .schema.serialize()
            .to_pybytes()
        )

    # ------------------------------------------------------------------ sample
    def _require(self) -> Fitted:
        if self.fitted is None:
            raise ConfigError("the synthesizer is not fitted: call fit() or Synthesizer.load() first")
        return self.fitted

    def _batches(self, request: Request, seed: int | None) -> Iterator[pd.DataFrame]:
        fitted = self._require()
        return self.family.batches(fitted, request, self.seed if seed is None else seed)

    def _collect(self, request: Request, seed: int | None) -> pd.DataFrame:
        with self._threads():
            parts = list(self._batches(request, seed))
        if not parts:  # zero rows: still the columns and dtypes of a sample
            return self.sample(1, seed=seed).iloc[:0]
        return pd.concat(parts, ignore_index=True)

    def sample(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        seed: int | None = None,
        *,
        shard: Shard | str | tuple[int, int] | None = None,
    ) -> pd.DataFrame:
        """`n` rows with the clean table's columns and dtypes; conditions are exact.

        `shard` ("I/N" or (I, N)): only shard I's part of those rows (model/shard.py); shards 0..N-1
        concatenated are the unsharded sample. A histories model returns the rows of as many virtual
        users as `n` rows need (the last user's history cut at `n`; not shardable)."""
        return self._collect(Request(n=n, conditions=conditions, shard=Shard.of(shard)), seed)

    def sample_users(
        self,
        n: int | None = None,
        *,
        like: Sequence[Any] = (),
        per_user: int = 1,
        seed: int | None = None,
        shard: Shard | str | tuple[int, int] | None = None,
    ) -> pd.DataFrame:
        """Histories models: the rows of `n` virtual users, or `per_user` neighbours of each id in `like`
        (`shard`: only shard I of N of them, as in `sample`).

        Virtual ids never collide with real ids (see model/histories/ids.py); row models refuse."""
        if (n is None) == (not like):
            raise ConfigError("give either a number of virtual users or ids to make neighbours of (like)")
        request = Request(users=n, like=tuple(like), per_user=per_user, shard=Shard.of(shard))
        return self._collect(request, seed)

    def sample_to_parquet(
        self,
        path: str | Path,
        n: int | None = None,
        *,
        conditions: dict[str, Any] | None = None,
        seed: int | None = None,
        batch_rows: int = 50_000,
        users: int | None = None,
        like: Sequence[Any] = (),
        per_user: int = 1,
        shard: Shard | str | tuple[int, int] | None = None,
    ) -> int:
        """Stream to one file in batches of `batch_rows` rows; Parquet, or CSV for a `.csv` path.

        `n` rows, or (histories models) `users` virtual users or `per_user` neighbours of each id in
        `like`; with `shard`, only shard I of N of them (as in `sample`): an empty shard is an empty
        file with the columns. The rows never depend on `batch_rows`."""
        self._require()
        if batch_rows < 1:
            raise ConfigError("batch_rows must be >= 1")
        schema = pa.ipc.read_schema(pa.py_buffer(self._arrow_schema)) if self._arrow_schema else None
        ask = {"n": n, "conditions": conditions, "users": users, "like": tuple(like), "per_user": per_user}
        request = Request(**ask, shard=Shard.of(shard))
        with self._threads():
            return write_rows(rebatch(self._batches(request, seed), batch_rows), path, schema)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """One file of data (JSON + tensors, see checkpoint.py): never a pickle."""
        fitted = self._require()
        enc_doc, tensors = self.family.encoder_state(fitted.encoder)
        tensors |= {f"net.{k}": v for k, v in fitted.net.state_dict().items()}
        if self._arrow_schema:
            tensors["arrow_schema"] = torch.frombuffer(bytearray(self._arrow_schema), dtype=torch.uint8)
        doc = {**self.document(), self.family.state_key: enc_doc, "meta": self.meta}
        return write_model(Path(path), doc, tensors)

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
            cfg = {**_CONFIG_ADDED, **doc["config"]}
            syn = cls(schema, model=doc["backend"], **{k: cfg[k] for k in _CONFIG}, **doc["hp"])
            key = syn.family.state_key
            if key not in doc:
                other = next(k for k in STATE_KEYS if k in doc)
                raise KeyError(f"a {syn.model} model needs {key!r}, the file holds {other!r}")
            fitted = syn.build(syn.family.encoder_from_state(doc[key], tensors, schema))
            fitted.net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise InputError(
                f"model file is damaged or inconsistent ({type(e).__name__}: {str(e).splitlines()[0][:160]})",
                path=origin,
            ) from None
        fitted.net.cpu().eval()
        syn.fitted = fitted
        syn._arrow_schema = (
            bytes(tensors["arrow_schema"].numpy().tobytes()) if "arrow_schema" in tensors else None
        )
        syn.meta = doc.get("meta", {})
        return syn
