"""A SIGTERM during training is a failure with exit code 143, wherever in the loop it lands.

Lightning installs its own SIGTERM handler during `fit` and, at an epoch's or a validation's end,
stops with `SIGTERMException`, a `SystemExit` without a code: unconverted, a stopped job exited 0.
"""

from __future__ import annotations

import os
import signal
from contextlib import ExitStack
from typing import Any

import pytest
import pytorch_lightning as pl
from support.gan_world import FAST, SCHEMA, make_table

from synthdata.errors import Terminated
from synthdata.model.synthesizer import Synthesizer
from synthdata.pipeline.signals import cooperative_sigterm, sigterm_raises, stop_on_signal


class _TermAt(pl.Callback):
    """Sends this process SIGTERM from one hook, once: where a scheduler's stop can land."""

    def __init__(self, hook: str) -> None:
        self.hook, self.sent = hook, False

    def _send(self) -> None:
        if not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)

    def on_train_epoch_end(self, *args: Any) -> None:
        if self.hook == "epoch_end":
            self._send()

    def on_validation_batch_start(self, *args: Any) -> None:
        if self.hook == "validation":
            self._send()

    def on_train_batch_start(self, *args: Any) -> None:
        if self.hook == "batch":
            self._send()


@pytest.mark.parametrize("hook", ["epoch_end", "validation", "batch"])
@pytest.mark.parametrize("caller", ["train", "pipeline"])
def test_sigterm_in_training_raises_terminated(hook: str, caller: str) -> None:
    """`train` (Lightning's handler alone) and the pipeline/tune (ours, cooperative) both end in 143."""
    df = make_table(n_rows=400)
    syn = Synthesizer(SCHEMA, epochs=5, batch_size=100, seed=0, **FAST)
    previous = signal.getsignal(signal.SIGTERM)
    callbacks: list[pl.Callback] = [_TermAt(hook)]
    with pytest.raises(Terminated) as e, ExitStack() as stack:
        if caller == "pipeline":
            stack.enter_context(sigterm_raises())
            stack.enter_context(cooperative_sigterm())
            callbacks.append(stop_on_signal())
        syn.fit(df, callbacks=callbacks)
    assert e.value.exit_code == 143 and "terminated by signal 15" in str(e.value)
    assert signal.getsignal(signal.SIGTERM) is previous  # nobody's handler left behind
