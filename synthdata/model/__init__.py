"""The model stage: transformer, generative backends, sampling and the model file."""

from synthdata.model.synthesizer import Synthesizer

__all__ = ["Synthesizer"]
