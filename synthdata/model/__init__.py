"""The model stage: two families behind one `Synthesizer` (model/family.py) — rows (GAN, VAE) and
histories (Mult-VAE, Mult-DAE: virtual users) — registered in `BACKENDS`, with shared fitting,
checkpoints and model files."""

from synthdata.model.registry import BACKENDS
from synthdata.model.synthesizer import Synthesizer

__all__ = ["BACKENDS", "Synthesizer"]
