"""Matplotlib for reports: a headless pyplot, and figures as base64 PNGs to embed in HTML.

Shared by the evaluation report (evaluate/plots.py) and `runs compare` (registry/compare.py).
Matplotlib is imported on first use only: most commands never draw.
"""

from __future__ import annotations

import base64
import io
from typing import Any


def pyplot() -> Any:
    """`matplotlib.pyplot` on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_base64(fig: Any, *, dpi: int) -> str:
    """`fig` as a base64 PNG (trimmed to its content); the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")
