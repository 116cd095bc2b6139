"""Reading version-1 model files (pickles), only when the caller trusts the file explicitly.

The transformer was pickled under the module paths of synthdata ≤ 0.1 (`synthdata.transform`, ...);
the unpickler maps them to `synthdata.model.*`. The result is converted to the version-2 document, so
the rest of the code knows one format.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthdata.errors import InputError
from synthdata.model.checkpoint import LEGACY_FORMAT, Tensors
from synthdata.model.rows.state import transformer_state

_ROW_MODULES = ("transform", "columns", "embeddings", "condition", "sample", "nets", "backend", "gan", "vae")
_MOVED = {  # ≤ 0.1 paths and the pre-family `synthdata.model.*` paths both live in model/rows now
    **{f"synthdata.{m}": f"synthdata.model.rows.{m}" for m in _ROW_MODULES},
    **{f"synthdata.model.{m}": f"synthdata.model.rows.{m}" for m in _ROW_MODULES},
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(_MOVED.get(module, module), name)


class _PickleModule:
    """What torch.load needs from a `pickle_module`, with module paths remapped."""

    Unpickler = _Unpickler
    load = staticmethod(pickle.load)


def read_legacy(path: Path) -> tuple[dict[str, Any], Tensors]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_PickleModule)
        if not isinstance(state, dict) or state.get("format") != LEGACY_FORMAT:
            raise InputError("not a synthdata model file (saved by Synthesizer.save)", path=str(path))
        import io

        tr = _Unpickler(io.BytesIO(state["transformer"])).load()
        cfg = dict(state["config"])
        hp = {k: v for k, v in state["module_hparams"].items() if k not in ("batch_size", "val_seed")}
        hp |= dict(cfg.pop("hp"))
        tensors: Tensors = {f"net.generator.{k}": v for k, v in state["generator"].items()}
        tensors |= {f"net.discriminator.{k}": v for k, v in state["discriminator"].items()}
        tr_doc, tr_tensors = transformer_state(tr)
        tensors |= tr_tensors
        if state.get("arrow_schema"):
            tensors["arrow_schema"] = torch.from_numpy(
                np.frombuffer(state["arrow_schema"], dtype=np.uint8).copy()
            )
        doc = {
            "format": "synthdata-model",
            "version": 2,
            "backend": "gan",
            "schema_yaml": state["schema_yaml"],
            "config": cfg,
            "hp": hp,
            "transformer": tr_doc,
            "meta": state.get("meta", {}),
        }
    except KeyError as e:
        raise InputError(
            f"version-1 model file lacks {e} (damaged or not saved by synthdata)", path=str(path)
        ) from None
    except InputError:
        raise
    except Exception as e:  # truncated zip, foreign pickle, ...
        raise InputError(
            f"cannot read version-1 model file: {str(e).splitlines()[0][:160]}", path=str(path)
        ) from None
    return doc, tensors
