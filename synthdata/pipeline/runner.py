"""The batch pipeline: ingest → split → train → generate → evaluate → gate → export.

Design, for unattended nightly use:
- Every run has an id (``20261129T020000-1a2b3c``) and a directory ``runs/<id>/`` holding all its
  artefacts, a ``manifest.json`` and ``run.log``. The registry records the run, each stage's status,
  timings and input hash, the metrics, the (masked) config and the artefacts with their sha256.
- A stage's **input hash** covers its slice of the config, the seed and the content hashes of its
  input files. When a stage with the same hash already succeeded — earlier in this run (``--resume``)
  or in any earlier run — its outputs are verified by sha256 and reused (hard-linked) instead of
  recomputed. Re-running an unchanged config is therefore cheap and gives identical artefacts.
- ``--resume RUN_ID`` continues a run killed at any point: finished stages are skipped by hash and
  training continues from the last Lightning checkpoint in ``checkpoints/``.
- ``--warm-start RUN_ID`` initialises training from that run's ``model.ckpt`` (fine-tuning).
- Gates check metrics.json; a failing gate skips export and ends the run with exit code 3.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd

import synthdata
from synthdata.db import mask_url
from synthdata.errors import ConfigError, GateFailed, InputError, SynthdataError
from synthdata.export import ExportResult
from synthdata.log import get_logger, is_interactive, kv, setup_logging
from synthdata.pipeline.config import PipelineConfig
from synthdata.pipeline.gates import GateResult, evaluate_gates
from synthdata.registry import Registry, file_sha256
from synthdata.schema import Schema, schema_path_for

log = get_logger("pipeline")

STAGES: tuple[str, ...] = ("ingest", "split", "train", "generate", "evaluate", "gate", "export")
# Stages whose outputs are files another run can safely reuse (gate is cheap; export has side effects).
REUSABLE = frozenset({"ingest", "split", "train", "generate", "evaluate"})
MANIFEST = "manifest.json"
CHECKPOINTS = "checkpoints"
DEFAULT_RUNS_DIR = "runs"

# Artefact (logical name) -> (file name in the run directory, kind in the registry).
ARTEFACTS: dict[str, tuple[str, str]] = {
    "clean": ("clean.parquet", "clean"),
    "schema": ("clean.schema.yaml", "schema"),
    "rejects": ("rejects.parquet", "rejects"),
    "ingest_report": ("ingest_report.json", "report"),
    "train": ("train.parquet", "split"),
    "test": ("test.parquet", "split"),
    "model": ("model.ckpt", "model"),
    "synth": ("synth.parquet", "synthetic"),
    "metrics": ("metrics.json", "metrics"),
    "report": ("report.html", "report"),
}


class Terminated(SynthdataError):
    """SIGTERM (scheduler timeout, container stop): the run is recorded as failed, resumable."""

    exit_code = 143


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into `Terminated` so the registry and log say what happened (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        _TERMINATED.append(signum)
        if _COOPERATIVE:
            return  # the running stage polls the flag (training: after each batch)
        f = frame
        while f is not None:  # logging catches (and prints) exceptions raised inside emit()
            if f.f_globals.get("__name__") == "logging":
                return  # the flag stops the run at the stage boundary instead
            f = f.f_back
        raise Terminated(f"terminated by signal {signum}; continue with --resume")

    _TERMINATED.clear()
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# Signals received during this run. The handler's exception can be swallowed by code that catches
# broadly (logging's emit does when the signal lands mid-log-call), so stages also check this flag.
_TERMINATED: list[int] = []


_COOPERATIVE: list[bool] = []


@contextmanager
def _cooperative_sigterm() -> Iterator[None]:
    """Within this block SIGTERM only sets the flag; the code inside polls it at safe points."""
    _COOPERATIVE.append(True)
    try:
        yield
    finally:
        _COOPERATIVE.pop()
    _raise_if_terminated()


def _raise_if_terminated() -> None:
    if _TERMINATED:
        raise Terminated(f"terminated by signal {_TERMINATED[0]}; continue with --resume")


def _stop_on_signal() -> Any:
    """A Lightning callback: training checks for a SIGTERM after every batch (resumable stop)."""
    import pytorch_lightning as pl  # lazy: keeps `synthdata --help` fast

    class StopOnSignal(pl.Callback):
        def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
            _raise_if_terminated()

    return StopOnSignal()


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def nan_for_null(x: Any) -> Any:
    """Inverse of `json_safe` (evaluate.report) for numbers: nulls read back from metrics.json -> NaN."""
    if isinstance(x, dict):
        return {k: nan_for_null(v) for k, v in x.items()}
    if isinstance(x, list):
        return [nan_for_null(v) for v in x]
    return float("nan") if x is None else x


def source_fingerprint(paths: list[str | None]) -> str:
    """Content hash of source files (folders: every file inside, by relative path)."""
    h = hashlib.sha256()
    for p in paths:
        if p is None:
            continue
        path = Path(p)
        if path.is_dir():
            for f in sorted(x for x in path.rglob("*") if x.is_file()):
                h.update(f"{f.relative_to(path)}\0{file_sha256(f)}\0".encode())
        elif path.is_file():
            h.update(f"{path.name}\0{file_sha256(path)}\0".encode())
        else:
            raise InputError("source not found", path=str(path))
    return h.hexdigest()


# ---- manifest -------------------------------------------------------------------------------------
@dataclass
class StageRecord:
    status: str
    input_hash: str | None = None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {file, sha256, bytes}
    reused_from: str | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None


@dataclass
class Manifest:
    """The run directory's own record of what each stage produced (survives without the registry)."""

    run_id: str
    config_hash: str
    stages: dict[str, StageRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, run_dir: Path) -> Manifest | None:
        p = run_dir / MANIFEST
        if not p.is_file():
            return None
        d = json.loads(p.read_text(encoding="utf-8"))
        return cls(d["run_id"], d["config_hash"], {k: StageRecord(**v) for k, v in d["stages"].items()})

    def save(self, run_dir: Path) -> None:
        tmp = run_dir / f".{MANIFEST}.{os.getpid()}.tmp"
        data = {
            "run_id": self.run_id,
            "config_hash": self.config_hash,
            "stages": {k: vars(v) for k, v in self.stages.items()},
        }
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, run_dir / MANIFEST)  # atomic: a kill never leaves a torn manifest


def _outputs_intact(run_dir: Path, outputs: Mapping[str, Mapping[str, Any]]) -> bool:
    for o in outputs.values():
        p = run_dir / o["file"]
        if not p.is_file() or p.stat().st_size != o["bytes"] or file_sha256(p) != o["sha256"]:
            return False
    return True


def _link(src: Path, dst: Path) -> None:
    """Hard-link (cheap, same content by construction), falling back to a copy across filesystems."""
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    status: str
    exit_code: int
    stages: dict[str, StageRecord]
    metrics: dict[str, Any] | None = None
    gates: list[GateResult] = field(default_factory=list)
    export: ExportResult | None = None


# ---- runner ---------------------------------------------------------------------------------------
class Pipeline:
    """One pipeline run (new, or resumed with `resume=RUN_ID`)."""

    def __init__(
        self,
        cfg: PipelineConfig,
        *,
        config_path: str | Path | None = None,
        registry: Registry,
        runs_dir: str | Path | None = None,
        resume: str | None = None,
        warm_start: str | None = None,
    ) -> None:
        self.cfg = cfg
        self.config_path = str(config_path) if config_path is not None else None
        self.registry = registry
        self.config_hash = cfg.config_hash()
        self.warm_start_model: Path | None = None
        self.warm_start_from: str | None = None
        if warm_start is not None:
            self.warm_start_from, self.warm_start_model = self._model_of(warm_start)
        if resume is not None:
            rid = registry.resolve_run_id(resume)
            info = registry.get_run(rid) if rid is not None else None
            if info is None or not info.run_dir:
                raise InputError(f"cannot resume: no run {resume!r} in registry {registry.masked_url}")
            self.run_id, self.run_dir, self.resumed = info.id, Path(info.run_dir), True
            if not self.run_dir.is_dir():
                raise InputError("cannot resume: run directory is gone", path=str(self.run_dir))
            if warm_start is None and info.warm_start_from:
                self.warm_start_from, self.warm_start_model = self._model_of(info.warm_start_from)
        else:
            base = Path(runs_dir or cfg.runs_dir or DEFAULT_RUNS_DIR)
            self.run_id, self.resumed = new_run_id(), False
            self.run_dir = (base / self.run_id).resolve()
        self.manifest = Manifest.load(self.run_dir) or Manifest(self.run_id, self.config_hash)
        self.manifest.config_hash = self.config_hash
        self.hashes: dict[str, str] = {}  # artefact name -> sha256 of the current run's files

    def _model_of(self, run_id: str) -> tuple[str, Path]:
        rid = self.registry.resolve_run_id(run_id)
        info = self.registry.get_run(rid) if rid is not None else None
        art = info.artefact("model") if info is not None else None
        if info is None or art is None:
            raise InputError(f"cannot warm-start: run {run_id!r} has no trained model in the registry")
        if not Path(art.path).is_file():
            raise InputError("cannot warm-start: model file is gone", path=art.path)
        return info.id, Path(art.path)

    # -- helpers -----------------------------------------------------------------------------------
    def path(self, artefact: str) -> Path:
        return self.run_dir / ARTEFACTS[artefact][0]

    def _record_outputs(self, names: list[str]) -> dict[str, dict[str, Any]]:
        outs = {}
        for n in names:
            p = self.path(n)
            sha = file_sha256(p)
            outs[n] = {"file": p.name, "sha256": sha, "bytes": p.stat().st_size}
            self.hashes[n] = sha
            self.registry.add_artefact(self.run_id, n, p, ARTEFACTS[n][1], sha256=sha)
        return outs

    def _input_hash(self, stage: str, inputs: list[str], extra: Mapping[str, Any] | None = None) -> str:
        return _sha(
            {
                "stage": stage,
                "version": synthdata.__version__,
                "config": self.cfg.stage_config(stage),
                "inputs": {n: self.hashes[n] for n in inputs},
                "extra": dict(extra or {}),
            }
        )

    def _reuse(self, stage: str, h: str) -> tuple[str, str | None, list[str]] | None:
        """Reuse outputs of an identical stage: this run's manifest first, then earlier runs.

        Returns ``(why, source run or None, output names)`` when reused.
        """
        mine = self.manifest.stages.get(stage)
        intact = mine is not None and mine.input_hash == h and _outputs_intact(self.run_dir, mine.outputs)
        if mine is not None and intact and mine.status in ("succeeded", "skipped"):
            for n, o in mine.outputs.items():
                self.hashes[n] = o["sha256"]
            return "up to date in this run", mine.reused_from, list(mine.outputs)
        if stage not in REUSABLE:
            return None
        for rid, rdir in self.registry.find_stage(stage, h, exclude_run=self.run_id):
            if not rdir:
                continue
            other = Manifest.load(Path(rdir))
            rec = other.stages.get(stage) if other is not None else None
            if rec is None or rec.input_hash != h or not _outputs_intact(Path(rdir), rec.outputs):
                continue
            for o in rec.outputs.values():
                _link(Path(rdir) / o["file"], self.run_dir / o["file"])
            self._record_outputs(list(rec.outputs))
            return f"reused from run {rid}", rid, list(rec.outputs)
        return None

    def _stage(
        self, stage: str, h: str | None, fn: Callable[[], tuple[list[str], str | None]]
    ) -> StageRecord:
        """Run (or skip) one stage, keeping the manifest and the registry in step."""
        started = datetime.now(UTC)
        self.registry.start_stage(self.run_id, stage, h)
        reused = self._reuse(stage, h) if h is not None else None
        if reused is not None:
            why, src, names = reused
            outputs = {
                n: {"file": self.path(n).name, "sha256": self.hashes[n], "bytes": self.path(n).stat().st_size}
                for n in names
            }
            rec = StageRecord(
                "skipped",
                h,
                outputs,
                reused_from=src,
                message=why,
                started_at=started.isoformat(),
                finished_at=datetime.now(UTC).isoformat(),
                seconds=0.0,
            )
            self.manifest.stages[stage] = rec
            self.manifest.save(self.run_dir)
            self.registry.finish_stage(self.run_id, stage, "skipped", message=why, reused_from=src)
            log.info(
                kv(
                    event="stage_skipped",
                    run=self.run_id,
                    stage=stage,
                    why=why.replace(" ", "_"),
                    input_hash=(h or "")[:12],
                )
            )
            return rec
        log.info(kv(event="stage_start", run=self.run_id, stage=stage, input_hash=(h or "-")[:12]))
        self.manifest.stages[stage] = StageRecord("running", h, started_at=started.isoformat())
        self.manifest.save(self.run_dir)
        t0 = time.perf_counter()
        try:
            _raise_if_terminated()
            names, message = fn()
            _raise_if_terminated()
            outputs = self._record_outputs(names)
        except BaseException as e:
            msg = f"{type(e).__name__}: {e}"
            self.manifest.stages[stage] = StageRecord(
                "failed", h, message=mask_url(msg), started_at=started.isoformat()
            )
            self.manifest.save(self.run_dir)
            self.registry.finish_stage(self.run_id, stage, "failed", message=msg)
            log.error(
                kv(event="stage_failed", run=self.run_id, stage=stage, error=mask_url(msg).replace("\n", " "))
            )
            raise
        secs = time.perf_counter() - t0
        rec = StageRecord(
            "succeeded",
            h,
            outputs,
            message=message,
            started_at=started.isoformat(),
            finished_at=datetime.now(UTC).isoformat(),
            seconds=round(secs, 3),
        )
        self.manifest.stages[stage] = rec
        self.manifest.save(self.run_dir)
        self.registry.finish_stage(self.run_id, stage, "succeeded", message=message)
        log.info(kv(event="stage_done", run=self.run_id, stage=stage, seconds=f"{secs:.2f}"))
        return rec

    # -- stages ------------------------------------------------------------------------------------
    def _ingest(self) -> tuple[list[str], str | None]:
        from synthdata.ingest import ingest, rejects_to_table

        s = self.cfg.source
        res = ingest(
            s.url if s.url is not None else s.path,  # type: ignore[arg-type]
            layout=s.layout,
            schema=s.schema_file,
            table=s.table,
            query=s.query,
            out=self.path("clean"),
            rejects=self.path("rejects"),
            report=self.path("ingest_report"),
            encoding=s.encoding,
            user_attributes=s.user_attributes,
            item_attributes=s.item_attributes,
            chunk_size=s.chunk_size,
        )
        rep = res.report.to_dict()
        if res.schema_path != self.path("schema"):
            shutil.copyfile(res.schema_path, self.path("schema"))
        note = f"rows_out={rep.get('rows_out')} rows_rejected={rep.get('rows_rejected')}"
        if s.rejects_to is not None:
            n = rejects_to_table(res, s.rejects_to, s.rejects_table)
            note += f" rejects_appended={n} rejects_table={s.rejects_table}"
        return ["clean", "schema", "rejects", "ingest_report"], note

    def _schema(self) -> Schema:
        return Schema.from_yaml(self.path("schema"))

    def _split(self) -> tuple[list[str], str | None]:
        from synthdata.split import split

        df = pd.read_parquet(self.path("clean"))
        train, test = split(
            df, self._schema(), self.cfg.split.protocol, self.cfg.split.test_fraction, seed=self.cfg.seed
        )
        train.to_parquet(self.path("train"), index=False)
        test.to_parquet(self.path("test"), index=False)
        for name in ("train", "test"):  # so `synthdata evaluate --train runs/<id>/train.parquet` just works
            self._schema().to_yaml(schema_path_for(self.path(name)))
        return ["train", "test"], f"train_rows={len(train)} test_rows={len(test)}"

    def _train(self, h: str) -> tuple[list[str], str | None]:
        from synthdata.model.synthesizer import Synthesizer

        t = self.cfg.train
        ckdir = self.run_dir / CHECKPOINTS
        marker = self.run_dir / f"{CHECKPOINTS}.input_hash"  # outside ckdir: Lightning wants it clean
        resume = False
        if ckdir.is_dir():
            # A checkpoint is only resumable when it was made for exactly these inputs and config.
            if marker.is_file() and marker.read_text().strip() == h and (ckdir / "last.ckpt").is_file():
                resume = True
            else:
                shutil.rmtree(ckdir)
        ckdir.mkdir(parents=True, exist_ok=True)
        marker.write_text(h)
        hp = dict(t.hp)
        hp.setdefault("progress_bar", is_interactive())
        syn = Synthesizer(
            self._schema(),
            epochs=t.epochs,
            batch_size=t.batch_size,
            max_minutes=t.max_minutes,
            seed=self.cfg.seed,
            accelerator=t.accelerator,
            devices=t.devices,
            strategy=t.strategy,
            **hp,
        )
        log.info(
            kv(
                event="train_start",
                run=self.run_id,
                resume=resume,
                warm_start=self.warm_start_from or "-",
                epochs=t.epochs,
            )
        )
        with _cooperative_sigterm():  # raising mid-training could land anywhere; check per batch
            syn.fit(
                pd.read_parquet(self.path("train")),
                checkpoint_dir=ckdir,
                resume=resume,
                init_from=self.warm_start_model,
                callbacks=[_stop_on_signal()],
            )
        syn.save(self.path("model"))
        meta = syn.meta
        parts = [f"epochs_trained={meta.get('epochs_trained')}"]
        if resume:
            parts.insert(0, "resumed from last checkpoint")
        if self.warm_start_from:
            parts.insert(0, f"warm-started from {self.warm_start_from}")
        return ["model"], " ".join(parts)

    def _generate(self) -> tuple[list[str], str | None]:
        import pyarrow.parquet as pq

        from synthdata.model.synthesizer import Synthesizer

        g = self.cfg.generate
        n = g.rows or max(1, round(pq.ParquetFile(self.path("train")).metadata.num_rows * g.multiplier))
        syn = Synthesizer.load(self.path("model"))
        kw = {"batch_rows": g.batch_rows} if g.batch_rows else {}
        rows = syn.sample_to_parquet(self.path("synth"), n, seed=self.cfg.seed, **kw)
        return ["synth"], f"rows={rows}"

    def _evaluate(self) -> tuple[list[str], str | None]:
        from synthdata.evaluate import evaluate
        from synthdata.evaluate.report import write_html, write_metrics_json

        schema = self._schema()
        train = pd.read_parquet(self.path("train"))
        test = pd.read_parquet(self.path("test"))
        synth = pd.read_parquet(self.path("synth"))
        metrics = evaluate(train, test, synth, schema, self.cfg.evaluate)
        write_metrics_json(metrics, self.path("metrics"))
        write_html(metrics, self.path("report"), train=train, synthetic=synth, schema=schema)
        return ["metrics", "report"], None

    # -- run ---------------------------------------------------------------------------------------
    def run(self) -> RunResult:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        setup_logging("INFO", file=self.run_dir / "run.log")
        cfg_dump = self.cfg.model_dump(mode="json", by_alias=True)
        if self.resumed:
            self.registry.reopen_run(self.run_id)
            self.registry.set_params(self.run_id, cfg_dump)
        else:
            self.registry.create_run(
                self.run_id,
                name=self.cfg.name,
                config=cfg_dump,
                config_path=self.config_path,
                config_hash=self.config_hash,
                run_dir=str(self.run_dir),
                warm_start_from=self.warm_start_from,
            )
        self.manifest.save(self.run_dir)
        log.info(
            kv(
                event="run_start",
                run=self.run_id,
                name=self.cfg.name,
                dir=self.run_dir,
                resumed=self.resumed,
                registry=self.registry.masked_url,
                config_hash=self.config_hash[:12],
            )
        )
        result = RunResult(self.run_id, self.run_dir, "running", 1, self.manifest.stages)
        t0 = time.perf_counter()
        try:
            with _sigterm_raises():
                self._run_stages(result)
        except BaseException as e:
            code = (
                e.exit_code
                if isinstance(e, SynthdataError)
                else (130 if isinstance(e, KeyboardInterrupt) else 1)
            )
            status = "gate_failed" if isinstance(e, GateFailed) else "failed"
            self.registry.finish_run(self.run_id, status, exit_code=code, error=f"{type(e).__name__}: {e}")
            log.error(
                kv(
                    event="run_end",
                    run=self.run_id,
                    status=status,
                    exit_code=code,
                    seconds=f"{time.perf_counter() - t0:.1f}",
                )
            )
            raise
        self.registry.finish_run(self.run_id, "succeeded", exit_code=0)
        result.status, result.exit_code = "succeeded", 0
        log.info(
            kv(
                event="run_end",
                run=self.run_id,
                status="succeeded",
                exit_code=0,
                seconds=f"{time.perf_counter() - t0:.1f}",
            )
        )
        return result

    def _run_stages(self, result: RunResult) -> None:
        s = self.cfg.source
        if s.url is not None:
            # A database table has no cheap content hash: reuse ingest only within this run (resume).
            fp = f"database:{self.run_id}"
        else:
            fp = source_fingerprint([s.path, s.schema_file, s.user_attributes, s.item_attributes])
        h = self._input_hash("ingest", [], {"source": fp})
        self._stage("ingest", h, self._ingest)
        self._stage("split", self._input_hash("split", ["clean", "schema"]), self._split)
        warm = {"warm_start_sha256": file_sha256(self.warm_start_model)} if self.warm_start_model else {}
        th = self._input_hash("train", ["train", "schema"], warm)
        self._stage("train", th, lambda: self._train(th))
        self._stage("generate", self._input_hash("generate", ["model", "train"]), self._generate)
        self._stage(
            "evaluate", self._input_hash("evaluate", ["train", "test", "synth", "schema"]), self._evaluate
        )
        result.metrics = nan_for_null(json.loads(self.path("metrics").read_text(encoding="utf-8")))
        self.registry.log_metrics(self.run_id, result.metrics)

        def gate() -> tuple[list[str], str | None]:
            result.gates = evaluate_gates(self.cfg.gates, result.metrics or {})
            for g in result.gates:
                (log.info if g.passed else log.warning)(
                    kv(event="gate", run=self.run_id, result=g.describe())
                )
            return [], "; ".join(g.describe() for g in result.gates) or "no gates configured"

        self._stage("gate", None, gate)
        failed = [g for g in result.gates if not g.passed]
        ex = self.cfg.export
        if failed:
            self._skip_export("gate failed")
            err = GateFailed(
                "quality gate failed, export skipped: " + "; ".join(g.describe() for g in failed)
            )
            err.result = result  # type: ignore[attr-defined]  # lets the CLI still print the metrics
            raise err
        if not ex.enabled:
            self._skip_export("export disabled in config")
            return
        assert ex.url is not None and ex.table is not None
        eh = self._input_hash("export", ["synth"], {"target": mask_url(ex.url)})

        def export() -> tuple[list[str], str | None]:
            from synthdata.export import export_table

            res = export_table(
                self.path("synth"),
                ex.url,
                ex.table,
                if_exists=ex.if_exists,  # type: ignore[arg-type]
                chunk_size=ex.chunk_size,
            )
            result.export = res
            return [], f"rows={res.rows} table={res.table} url={res.url} rows_per_s={res.rows_per_s:.0f}"

        self._stage("export", eh, export)

    def _skip_export(self, why: str) -> None:
        self.registry.start_stage(self.run_id, "export", None)
        self.registry.finish_stage(self.run_id, "export", "skipped", message=why)
        self.manifest.stages["export"] = StageRecord(
            "skipped", None, message=why, finished_at=datetime.now(UTC).isoformat()
        )
        self.manifest.save(self.run_dir)
        log.info(kv(event="stage_skipped", run=self.run_id, stage="export", why=why.replace(" ", "_")))


def run_pipeline(
    cfg: PipelineConfig,
    *,
    config_path: str | Path | None = None,
    registry_url: str | None = None,
    runs_dir: str | Path | None = None,
    resume: str | None = None,
    warm_start: str | None = None,
) -> RunResult:
    """Open the registry (``--registry`` > ``$SYNTHDATA_DB_URL`` > config > ./synthdata.db) and run."""
    url = registry_url or os.environ.get("SYNTHDATA_DB_URL") or cfg.registry
    if resume is not None and warm_start is not None and resume == warm_start:
        raise ConfigError("--resume and --warm-start name the same run")
    with Registry(url) as reg:
        return Pipeline(
            cfg,
            config_path=config_path,
            registry=reg,
            runs_dir=runs_dir,
            resume=resume,
            warm_start=warm_start,
        ).run()
