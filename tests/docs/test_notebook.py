"""notebooks/quickstart.ipynb runs top to bottom on the bundled sample and draws its plots, so the
notebook cannot rot; it is stored without outputs, so what runs is what the repository holds."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_notebook_is_stored_without_outputs() -> None:
    cells = _code_cells(nbformat.read(NOTEBOOK, as_version=4))
    assert cells
    assert all(not c.outputs and c.execution_count is None for c in cells)


def test_the_quickstart_runs_and_plots() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # "python3" is the interpreter running the tests (jupyter_client starts sys.executable for it);
    # execute() raises CellExecutionError naming the cell and the traceback on the first error.
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    outputs = [o for c in _code_cells(nb) for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "verdict:" in text and "config keys that differ: ['name', 'train.model']" in text
    plots = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(plots) >= 4  # metric bars, popularity curves, and the run comparison's plots
