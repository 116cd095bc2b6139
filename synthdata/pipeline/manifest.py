"""What a run directory records about itself: run ids, content hashes and `manifest.json`.

A stage's **input hash** covers its slice of the config, the seed and the content hashes of its input
files; the manifest stores, per stage, that hash and the sha256 of every output, so a later run (or a
``--resume``) can prove an output is still exactly what the stage produced before reusing it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthdata.atomic import atomic_write_text
from synthdata.errors import InputError
from synthdata.registry import file_sha256

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


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def sha_of(obj: Any) -> str:
    """Stable hash of a JSON-able object (keys sorted)."""
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
        data = {
            "run_id": self.run_id,
            "config_hash": self.config_hash,
            "stages": {k: vars(v) for k, v in self.stages.items()},
        }
        # atomic: a kill never leaves a torn manifest
        atomic_write_text(run_dir / MANIFEST, json.dumps(data, indent=1, sort_keys=True), durable=False)


def outputs_intact(run_dir: Path, outputs: Mapping[str, Mapping[str, Any]]) -> bool:
    """Every recorded output exists with its recorded size and sha256."""
    for o in outputs.values():
        p = run_dir / o["file"]
        if not p.is_file() or p.stat().st_size != o["bytes"] or file_sha256(p) != o["sha256"]:
            return False
    return True
