"""The stage cache: run a stage, or reuse the verified outputs of an identical earlier stage.

Why it is built this way:
- A stage whose input hash matches a stage that already succeeded — earlier in this run
  (``--resume``) or in any earlier run — has its outputs verified by sha256 and reused (hard-linked)
  instead of recomputed.
- **No run ever touches another run's files.** Reused outputs are hard links shared with the run
  they came from, so nothing may ever be written *into* an output file. A stage that runs writes
  every output into a private staging folder inside the run directory (`StageCache.out`); only when
  the stage succeeded are the files renamed into place (``os.replace`` swaps the directory entry,
  leaving a linked inode untouched). The stage's previous outputs are unlinked before it re-runs,
  so a failed re-run cannot leave stale files looking current either.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import synthdata
from synthdata.atomic import Staging, atomic_copy
from synthdata.log import get_logger, kv
from synthdata.masking import mask_url
from synthdata.pipeline.config import PipelineConfig
from synthdata.pipeline.context import StageOutput
from synthdata.pipeline.manifest import (
    ARTEFACTS,
    REUSABLE,
    Manifest,
    StageRecord,
    outputs_intact,
    sha_of,
)
from synthdata.pipeline.signals import raise_if_terminated
from synthdata.registry import Registry, file_sha256

log = get_logger("pipeline")

STAGING_PREFIX = ".staging-"


def link(src: Path, dst: Path) -> None:
    """Hard-link (cheap, same content by construction), falling back to a copy across filesystems."""
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        atomic_copy(src, dst, durable=False)


class StageCache:
    """Runs stages of one run directory, keeping `manifest.json` and the registry in step."""

    cfg: PipelineConfig
    registry: Registry
    run_id: str
    run_dir: Path
    manifest: Manifest
    hashes: dict[str, str]  # artefact name -> sha256 of the current run's files
    _staging: Path | None = None

    # -- paths -------------------------------------------------------------------------------------
    def path(self, artefact: str) -> Path:
        """Where artefact `artefact` lives in the run directory (read inputs from here)."""
        return self.run_dir / ARTEFACTS[artefact][0]

    def out(self, artefact: str) -> Path:
        """Where the running stage writes output `artefact` (renamed into place when the stage succeeds)."""
        if self._staging is None:
            raise RuntimeError("StageCache.out() is only valid inside a running stage")
        return self._staging / ARTEFACTS[artefact][0]

    def clear_staging(self) -> None:
        """Remove staging folders a killed stage left behind (they never hold a finished output)."""
        for d in self.run_dir.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(d, ignore_errors=True)

    # -- hashing / reuse ---------------------------------------------------------------------------
    def input_hash(self, stage: str, inputs: list[str], extra: Mapping[str, Any] | None = None) -> str:
        return sha_of(
            {
                "stage": stage,
                "version": synthdata.__version__,
                "config": self.cfg.stage_config(stage),
                "inputs": {n: self.hashes[n] for n in inputs},
                "extra": dict(extra or {}),
            }
        )

    def _record_outputs(self, names: list[str]) -> dict[str, dict[str, Any]]:
        outs = {}
        for n in names:
            p = self.path(n)
            sha = file_sha256(p)
            outs[n] = {"file": p.name, "sha256": sha, "bytes": p.stat().st_size}
            self.hashes[n] = sha
            self.registry.add_artefact(self.run_id, n, p, ARTEFACTS[n][1], sha256=sha)
        return outs

    def _reuse(self, stage: str, h: str) -> tuple[str, str | None, list[str]] | None:
        """Reuse outputs of an identical stage: this run's manifest first, then earlier runs.

        Returns ``(why, source run or None, output names)`` when reused.
        """
        mine = self.manifest.stages.get(stage)
        intact = mine is not None and mine.input_hash == h and outputs_intact(self.run_dir, mine.outputs)
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
            if rec is None or rec.input_hash != h or not outputs_intact(Path(rdir), rec.outputs):
                continue
            for o in rec.outputs.values():
                link(Path(rdir) / o["file"], self.run_dir / o["file"])
            self._record_outputs(list(rec.outputs))
            return f"reused from run {rid}", rid, list(rec.outputs)
        return None

    def _drop_previous_outputs(self, stage: str) -> None:
        """Unlink the files this stage produced (or linked) before, so nothing stale survives a re-run."""
        prev = self.manifest.stages.get(stage)
        for o in (prev.outputs if prev is not None else {}).values():
            p = self.run_dir / o["file"]
            if p.is_file() or p.is_symlink():
                p.unlink()

    # -- running -----------------------------------------------------------------------------------
    def stage(self, stage: str, h: str | None, fn: Callable[[], StageOutput]) -> StageRecord:
        """Run (or skip) one stage, keeping the manifest and the registry in step."""
        started = datetime.now(UTC)
        self.registry.start_stage(self.run_id, stage, h)
        reused = self._reuse(stage, h) if h is not None else None
        if reused is not None:
            return self._skip_reused(stage, h, started, *reused)
        return self._run(stage, h, started, fn)

    def _set_record(self, stage: str, rec: StageRecord) -> None:
        self.manifest.stages[stage] = rec
        self.manifest.save(self.run_dir)

    def _skip_reused(
        self, stage: str, h: str | None, started: datetime, why: str, src: str | None, names: list[str]
    ) -> StageRecord:
        """Record a stage whose outputs were found intact (this run's or another run's, see `_reuse`)."""
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
        self._set_record(stage, rec)
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

    def _run(
        self, stage: str, h: str | None, started: datetime, fn: Callable[[], StageOutput]
    ) -> StageRecord:
        """Run the stage body in a private staging folder; its outputs land only when it succeeds."""
        log.info(kv(event="stage_start", run=self.run_id, stage=stage, input_hash=(h or "-")[:12]))
        self._drop_previous_outputs(stage)
        self._set_record(stage, StageRecord("running", h, started_at=started.isoformat()))
        t0 = time.perf_counter()
        staging = self.run_dir / f"{STAGING_PREFIX}{stage}-{secrets.token_hex(4)}"
        staging.mkdir()
        self._staging = staging
        try:
            raise_if_terminated()
            names, message = fn()
            raise_if_terminated()
            self._publish(staging, names)
            outputs = self._record_outputs(names)
        except BaseException as e:
            self._record_failure(stage, h, started, f"{type(e).__name__}: {e}")
            raise
        finally:
            self._staging = None
            shutil.rmtree(staging, ignore_errors=True)
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
        self._set_record(stage, rec)
        self.registry.finish_stage(self.run_id, stage, "succeeded", message=message)
        log.info(kv(event="stage_done", run=self.run_id, stage=stage, seconds=f"{secs:.2f}"))
        return rec

    def _publish(self, staging: Path, names: list[str]) -> None:
        """Rename the stage's outputs into place, then its side files (e.g. an inferred schema) beside
        them: each a new directory entry, never a write into a file another run shares by hard link."""
        moves = Staging(durable=False)
        for n in names:
            moves.add(self.out(n), self.path(n))
        outputs = {tmp for tmp, _ in moves.pairs}
        for f in sorted(staging.iterdir()):
            # hidden files are a writer's temp/spill files, never an output
            if f.is_file() and not f.name.startswith(".") and f not in outputs:
                moves.add(f, self.run_dir / f.name)
        moves.commit(missing_ok=False)  # an output the stage named but did not write is an error

    def _record_failure(self, stage: str, h: str | None, started: datetime, msg: str) -> None:
        masked = mask_url(msg)
        self._set_record(stage, StageRecord("failed", h, message=masked, started_at=started.isoformat()))
        self.registry.finish_stage(self.run_id, stage, "failed", message=msg)
        log.error(kv(event="stage_failed", run=self.run_id, stage=stage, error=masked.replace("\n", " ")))

    def skip_stage(self, stage: str, why: str) -> None:
        """Record a stage as skipped without running it (export disabled, gate failed)."""
        self.registry.start_stage(self.run_id, stage, None)
        self.registry.finish_stage(self.run_id, stage, "skipped", message=why)
        finished = datetime.now(UTC).isoformat()
        self._set_record(stage, StageRecord("skipped", None, message=why, finished_at=finished))
        log.info(kv(event="stage_skipped", run=self.run_id, stage=stage, why=why.replace(" ", "_")))
