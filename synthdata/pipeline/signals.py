"""SIGTERM handling for pipeline runs: a scheduler's stop becomes a recorded, resumable failure.

Why a module of its own: the handler, the flag it sets and the Lightning callback that polls it are
shared by the run lifecycle (which installs the handler) and the training stage (which polls it per
batch, since raising mid-training could land anywhere).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from synthdata.errors import Terminated

__all__ = ["Terminated", "cooperative_sigterm", "raise_if_terminated", "sigterm_raises", "stop_on_signal"]

# Signals received during this run. The handler's exception can be swallowed by code that catches
# broadly (logging's emit does when the signal lands mid-log-call), so stages also check this flag.
_TERMINATED: list[int] = []

_COOPERATIVE: list[bool] = []


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into `Terminated` so the registry and log say what happened (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        _TERMINATED.append(signum)
        if _COOPERATIVE:
            return  # the running stage polls the flag (training: after each batch)
        f = frame
        while f is not None:  # logging catches (and prints) exceptions raised inside emit()
            if f.f_globals.get("__name__") == "logging":
                return  # the flag stops the run at the stage boundary instead
            f = f.f_back
        raise Terminated(f"terminated by signal {signum}; continue with --resume")

    _TERMINATED.clear()
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def cooperative_sigterm() -> Iterator[None]:
    """Within this block SIGTERM only sets the flag; the code inside polls it at safe points."""
    _COOPERATIVE.append(True)
    try:
        yield
    finally:
        _COOPERATIVE.pop()
    raise_if_terminated()


def raise_if_terminated() -> None:
    if _TERMINATED:
        raise Terminated(f"terminated by signal {_TERMINATED[0]}; continue with --resume")


def stop_on_signal() -> Any:
    """A Lightning callback: training checks for a SIGTERM after every batch (resumable stop)."""
    import pytorch_lightning as pl  # lazy: keeps `synthdata --help` fast

    class StopOnSignal(pl.Callback):
        def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
            raise_if_terminated()

    return StopOnSignal()
