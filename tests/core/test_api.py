"""The top-level API (`import synthdata as sd`): importing it stays light, every name resolves, and
`sd.ingest`, `sd.split` and `sd.evaluate` call their function whichever import came first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support.pipeline_world import SCHEMA, interactions, write_source

import synthdata as sd
from synthdata.schema import Schema

HEAVY = ("torch", "pytorch_lightning", "lightning", "implicit", "duckdb", "sqlalchemy", "sklearn")


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_synthdata_loads_no_heavy_stack() -> None:
    loaded = _python(
        f"import json, sys, synthdata; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    assert json.loads(loaded) == []


def test_every_name_resolves_and_is_listed() -> None:
    names = set(sd.__all__) - {"__version__"}
    assert {"ingest", "split", "evaluate", "Synthesizer", "run_pipeline", "Registry", "Schema"} <= names
    for name in names:
        assert getattr(sd, name) is not None, name
    assert names <= set(dir(sd))
    assert "importlib" not in dir(sd)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sd.nope  # noqa: B018


@pytest.mark.parametrize(
    ("name", "module", "function"),
    [
        ("ingest", "synthdata.ingest", "ingest"),
        ("split", "synthdata.split", "split"),
        ("evaluate", "synthdata.evaluate.api", "evaluate"),
    ],
)
def test_callable_modules_call_their_function(
    name: str, module: str, function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(f"{module}.{function}", lambda *a, **k: seen.append((a, k)) or "called")
    assert getattr(sd, name)(1, k=2) == "called"
    assert seen == [((1,), {"k": 2})]


def test_callable_whichever_import_came_first() -> None:
    out = _python(
        "import synthdata.split, synthdata.ingest.api as m, synthdata.evaluate.verdict\n"
        "import synthdata as sd\n"
        "print(m.__name__, callable(sd.split), callable(sd.ingest), callable(sd.evaluate))"
    )
    assert out.split() == ["synthdata.ingest.api", "True", "True", "True"]


def test_split_and_ingest_through_the_top_level(tmp_path: Path) -> None:
    from synthdata.split import split

    df, schema = interactions(), Schema.model_validate(SCHEMA)
    mine, theirs = sd.split(df, schema, test_fraction=0.25), split(df, schema, test_fraction=0.25)
    for a, b in zip(mine, theirs, strict=True):
        pd.testing.assert_frame_equal(a, b)
    csv, schema_file = write_source(tmp_path / "src")
    res = sd.ingest(csv, layout="interactions", schema=schema_file, out=tmp_path / "clean.parquet")
    assert len(res.read()) == len(pd.read_csv(csv)) and isinstance(res.schema, sd.Schema)
