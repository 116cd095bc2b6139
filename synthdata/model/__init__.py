"""The model stage: transformer, pluggable generative backends (`BACKENDS`), sampling, model files."""

from synthdata.model.registry import BACKENDS
from synthdata.model.synthesizer import Synthesizer

__all__ = ["BACKENDS", "Synthesizer"]
