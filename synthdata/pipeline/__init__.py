"""Batch pipeline: one YAML config drives ingest → split → train → generate → evaluate → gate → export.

from synthdata.pipeline import load_config, run_pipeline
result = run_pipeline(load_config("pipelines/demo.yaml"))

Modules, left to right: `config` (the YAML), `signals` (SIGTERM → resumable stop), `manifest` (run
ids, hashes, manifest.json), `context` (what a stage body sees: `StageContext`), `cache` (run or reuse
a stage; outputs renamed into place), `stages` (the stage bodies), `gates`, `lifecycle` (`Pipeline`,
`run_pipeline`); for schedulers `rundate` (``--run-date``, ``${run_date}``) and `unchanged`
(``--skip-unchanged``).
"""

from synthdata.pipeline.config import PipelineConfig, load_config, parse_config
from synthdata.pipeline.gates import GateResult, evaluate_gates
from synthdata.pipeline.lifecycle import Pipeline, RunResult, run_pipeline
from synthdata.pipeline.manifest import STAGES

__all__ = [
    "STAGES",
    "GateResult",
    "Pipeline",
    "PipelineConfig",
    "RunResult",
    "evaluate_gates",
    "load_config",
    "parse_config",
    "run_pipeline",
]
