"""A fit across processes and nodes, the parts that need no Lightning: checked settings and a digest
that shows every rank ended with the same weights.

Several nodes train as one DDP job: each process (one per device per node, started by torchrun,
srun or any launcher that sets the usual variables) runs the same command, Lightning picks up the
cluster environment, and the gradients of every rank's batches are averaged, so all ranks hold the
same weights (docs/scale-out.md).
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch

from synthdata.errors import ConfigError


def check_num_nodes(num_nodes: Any, strategy: Any) -> int:
    """`num_nodes` >= 1; above 1 only with a DDP strategy (the one this project trains and tests).
    A Lightning `Strategy` object is the caller's own choice and is passed through."""
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ConfigError(f"num_nodes must be an integer >= 1, not {num_nodes!r}")
    ddp = not isinstance(strategy, str) or strategy == "auto" or strategy.startswith("ddp")
    if num_nodes > 1 and not ddp:
        raise ConfigError(
            f"num_nodes={num_nodes} needs a DDP strategy (auto, ddp, ddp_spawn, ...), not {strategy!r}"
        )
    return num_nodes


def strategy_for(strategy: Any, num_nodes: int) -> Any:
    """`auto` across nodes is DDP; named explicitly so backends can get its find-unused variant."""
    return "ddp" if num_nodes > 1 and strategy == "auto" else strategy


def weights_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 (first 16 hex digits) of a state dict's names, dtypes, shapes and values."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]
