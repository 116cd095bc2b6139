"""The run lifecycle: open or resume a run, run the stages in order, record how it ended.

Design, for unattended nightly use:
- Every run has an id (``20261129T020000-1a2b3c``) and a directory ``runs/<id>/`` holding all its
  artefacts, a ``manifest.json`` and ``run.log``. The registry records the run, each stage's status,
  timings and input hash, the metrics, the (masked) config and the artefacts with their sha256.
- Unchanged stages are reused from this or earlier runs (see `synthdata.pipeline.cache`), so
  re-running an unchanged config is cheap and gives identical artefacts.
- ``--resume RUN_ID`` continues a run killed at any point: finished stages are skipped by hash and
  training continues from the last Lightning checkpoint in ``checkpoints/``.
- ``--warm-start RUN_ID`` initialises training from that run's ``model.ckpt`` (fine-tuning).
- Gates check metrics.json; a failing gate skips export and ends the run with exit code 3.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthdata.atomic import ensure_writable
from synthdata.db import check_driver, sqlite_file
from synthdata.errors import EXIT_SKIPPED, ConfigError, GateFailed, InputError, SynthdataError
from synthdata.export import ExportResult
from synthdata.log import get_logger, kv, setup_logging
from synthdata.masking import mask_url
from synthdata.pipeline import stages
from synthdata.pipeline.cache import StageCache
from synthdata.pipeline.config import PipelineConfig
from synthdata.pipeline.context import StageOutput
from synthdata.pipeline.gates import GateResult, evaluate_gates
from synthdata.pipeline.manifest import (
    DEFAULT_RUNS_DIR,
    Manifest,
    StageRecord,
    nan_for_null,
    new_run_id,
)
from synthdata.pipeline.signals import sigterm_raises
from synthdata.pipeline.unchanged import find_unchanged, source_fingerprint_of
from synthdata.registry import Registry, file_sha256
from synthdata.registry.liveness import Heartbeat
from synthdata.tracking.pipeline import PipelineTracking

log = get_logger("pipeline")


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
    source_fingerprint: str | None = None


class Pipeline(StageCache):
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
        self.source_fp = source_fingerprint_of(cfg)  # before anything is written: a missing file is exit 2
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
        self.hashes = {}
        self.tracking = PipelineTracking(self)  # MLflow mirror; reads a resumed run's MLflow id now

    def _model_of(self, run_id: str) -> tuple[str, Path]:
        rid = self.registry.resolve_run_id(run_id)
        info = self.registry.get_run(rid) if rid is not None else None
        art = info.artefact("model") if info is not None else None
        if info is None or art is None:
            raise InputError(f"cannot warm-start: run {run_id!r} has no trained model in the registry")
        if not Path(art.path).is_file():
            raise InputError("cannot warm-start: model file is gone", path=art.path)
        return info.id, Path(art.path)

    # -- run ---------------------------------------------------------------------------------------
    def run(self) -> RunResult:
        self._open()
        self.tracking.start()
        result = RunResult(self.run_id, self.run_dir, "running", 1, self.manifest.stages)
        result.source_fingerprint = self.source_fp
        t0 = time.perf_counter()
        try:
            with sigterm_raises(), Heartbeat(lambda: self.registry.heartbeat(self.run_id)).running():
                self._run_stages(result)
        except BaseException as e:
            code = (
                e.exit_code
                if isinstance(e, SynthdataError)
                else (130 if isinstance(e, KeyboardInterrupt) else 1)
            )
            status = "gate_failed" if isinstance(e, GateFailed) else "failed"
            result.status, result.exit_code = status, code
            if getattr(e, "result", None) is None:
                e.result = result  # type: ignore[attr-defined]  # the CLI's run summary names this run
            self.registry.finish_run(self.run_id, status, exit_code=code, error=f"{type(e).__name__}: {e}")
            self.tracking.finish(status, code, result.metrics, result.gates)
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
        self.tracking.finish("succeeded", 0, result.metrics, result.gates)
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

    def _open(self) -> None:
        """Register the run (or take over the resumed one), create its folder and start its log."""
        cfg_dump = self.cfg.model_dump(mode="json", by_alias=True)
        if self.resumed:  # refuses a run another live process still runs; takes over a stale one
            self.registry.claim_run(self.run_id)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        setup_logging(file=self.run_dir / "run.log")  # at $SYNTHDATA_LOG_LEVEL, like stderr
        if self.resumed:
            self.registry.set_params(self.run_id, cfg_dump)
            self.registry.set_source(self.run_id, self.cfg.run_date, self.source_fp)
        else:
            self.registry.create_run(
                self.run_id,
                name=self.cfg.name,
                config=cfg_dump,
                config_path=self.config_path,
                config_hash=self.config_hash,
                run_dir=str(self.run_dir),
                warm_start_from=self.warm_start_from,
                run_date=self.cfg.run_date,
                source_fingerprint=self.source_fp,
            )
        self.clear_staging()
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
                run_date=self.cfg.run_date or "-",
            )
        )

    def _run_stages(self, result: RunResult) -> None:
        # A database table has no cheap content hash: reuse ingest only within this run (resume).
        fp = self.source_fp if self.source_fp is not None else f"database:{self.run_id}"
        h = self.input_hash("ingest", [], {"source": fp})
        self.stage("ingest", h, lambda: stages.ingest(self))
        self.stage("split", self.input_hash("split", ["clean", "schema"]), lambda: stages.split(self))
        warm = {"warm_start_sha256": file_sha256(self.warm_start_model)} if self.warm_start_model else {}
        th = self.input_hash("train", ["train", "schema"], warm)
        self.stage("train", th, lambda: stages.train(self, th))
        gh = self.input_hash("generate", ["model", "train"])
        self.stage("generate", gh, lambda: stages.generate(self))
        eh = self.input_hash("evaluate", ["train", "test", "synth", "schema"])
        self.stage("evaluate", eh, lambda: stages.evaluate(self))
        result.metrics = nan_for_null(json.loads(self.path("metrics").read_text(encoding="utf-8")))
        self.registry.log_metrics(self.run_id, result.metrics)

        def gate() -> StageOutput:
            result.gates = evaluate_gates(self.cfg.gates, result.metrics or {})
            for g in result.gates:
                (log.info if g.passed else log.warning)(
                    kv(event="gate", run=self.run_id, result=g.describe())
                )
            return [], "; ".join(g.describe() for g in result.gates) or "no gates configured"

        self.stage("gate", None, gate)
        failed = [g for g in result.gates if not g.passed]
        ex = self.cfg.export
        if failed:
            self.skip_stage("export", "gate failed")
            err = GateFailed(
                "quality gate failed, export skipped: " + "; ".join(g.describe() for g in failed)
            )
            err.result = result  # type: ignore[attr-defined]  # lets the CLI still print the metrics
            raise err
        if not ex.enabled:
            self.skip_stage("export", "export disabled in config")
            return
        assert ex.url is not None and ex.table is not None
        xh = self.input_hash("export", ["synth"], {"target": mask_url(ex.url)})
        self.stage("export", xh, lambda: stages.export(self, result))


def preflight(cfg: PipelineConfig, registry_url: str | None, runs_dir: str | Path | None) -> None:
    """Every check that needs no work done, before anything (registry, run folder) is written.

    The config itself was validated when loaded (keys, URLs and drivers, identifier lengths); here
    the output locations: the runs folder and a SQLite registry file must be creatable.
    """
    from synthdata.registry import resolve_url

    ensure_writable(Path(runs_dir or cfg.runs_dir or DEFAULT_RUNS_DIR), what="runs folder", folder=True)
    u = check_driver(resolve_url(registry_url), what="registry URL")
    path = sqlite_file(u) if u.get_backend_name() == "sqlite" else None
    if path is not None and not path.is_file():
        ensure_writable(path, what="registry")


def run_pipeline(
    cfg: PipelineConfig,
    *,
    config_path: str | Path | None = None,
    registry_url: str | None = None,
    runs_dir: str | Path | None = None,
    resume: str | None = None,
    warm_start: str | None = None,
    skip_unchanged: bool = False,
) -> RunResult:
    """Open the registry (``--registry`` > ``$SYNTHDATA_DB_URL`` > config > ./synthdata.db) and run.

    `skip_unchanged`: return a ``skipped`` result naming the earlier run instead, when the date was
    already processed from the same source and config (`synthdata.pipeline.unchanged`).
    """
    url = registry_url or os.environ.get("SYNTHDATA_DB_URL") or cfg.registry
    if resume is not None and warm_start is not None and resume == warm_start:
        raise ConfigError("--resume and --warm-start name the same run")
    if resume is not None and skip_unchanged:
        raise ConfigError("--skip-unchanged does not apply to --resume (a resumed run always continues)")
    preflight(cfg, url, runs_dir)
    # --resume / --warm-start name runs of an existing registry: a mistyped one is not created
    with Registry(url, create=resume is None and warm_start is None) as reg:
        p = Pipeline(
            cfg,
            config_path=config_path,
            registry=reg,
            runs_dir=runs_dir,
            resume=resume,
            warm_start=warm_start,
        )
        same = find_unchanged(reg, cfg, p.config_hash, p.source_fp) if skip_unchanged else None
        if same is not None:
            return RunResult(
                same.run.id,
                same.run_dir,
                "skipped",
                EXIT_SKIPPED,
                same.stages,
                metrics=same.metrics,
                gates=same.gates,
                source_fingerprint=p.source_fp,
            )
        return p.run()
