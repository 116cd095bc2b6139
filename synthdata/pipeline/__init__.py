"""Batch pipeline: one YAML config drives ingest → split → train → generate → evaluate → gate → export.

from synthdata.pipeline import load_config, run_pipeline
result = run_pipeline(load_config("pipelines/demo.yaml"))
"""

from synthdata.pipeline.config import PipelineConfig, load_config, parse_config
from synthdata.pipeline.gates import GateResult, evaluate_gates
from synthdata.pipeline.runner import STAGES, Pipeline, RunResult, run_pipeline

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
