"""The "Adding a model" example of docs/models.md is real: its one file, registered with one line,
trains, samples with exact conditions and round-trips through a model file."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from support.gan_world import FAST, SCHEMA, make_table

from synthdata.model import registry
from synthdata.model.synthesizer import Synthesizer

MODELS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def test_docs_backend_example_is_one_file_plus_one_registry_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = MODELS_PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Adding a model") :]
    code = re.search(r"```python\n(# synthdata/model/rows/mlp_ae.py.*?)```", section, re.S)
    assert code, "docs/models.md example not found"
    path = tmp_path / "mlp_ae.py"
    path.write_text(code.group(1))
    spec = importlib.util.spec_from_file_location("mlp_ae", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setitem(registry.BACKENDS, "dae", mod.Dae)  # the one registry line
    df = make_table(n_rows=600)
    syn = Synthesizer(SCHEMA, model="dae", epochs=1, batch_size=300, hidden=[32], **FAST).fit(df)
    users = list(df["user_id"].unique()[:3]) * 4
    out = syn.sample(len(users), conditions={"user_id": users}, seed=1)
    assert out["user_id"].tolist() == users and list(out.columns) == list(df.columns)
    again = Synthesizer.load(syn.save(tmp_path / "dae.ckpt"))
    assert again.model == "dae" and len(again.sample(5)) == 5
