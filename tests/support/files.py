"""Small input files for tests: write text or bytes, read a rejects table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["rejects", "write"]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def rejects(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)
