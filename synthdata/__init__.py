"""synthdata: synthetic interaction data for collaborative-filtering recommenders.

The notebook API, one import away::

    import synthdata as sd

    res = sd.ingest("data/sample", layout="events", out="clean.parquet")
    train, test = sd.split(res.read(), res.schema)
    syn = sd.Synthesizer(res.schema, model="gan", epochs=5).fit(train)
    metrics = sd.evaluate(train, test, syn.sample(len(train) // 2), res.schema)
    result = sd.run_pipeline(sd.load_config("pipelines/demo.yaml"))

Every name is imported on first use (PEP 562), so `import synthdata` loads neither torch nor the
database, DuckDB or recommender stacks. `sd.ingest`, `sd.split` and `sd.evaluate` are the modules
of those names, callable as their function (`synthdata.callable_module` says why).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # what IDEs and type checkers see; at run time each name loads on first use
    from synthdata.evaluate.api import evaluate as evaluate
    from synthdata.evaluate.config import EvalConfig as EvalConfig
    from synthdata.export.table import export_table as export_table
    from synthdata.ingest.api import ingest as ingest
    from synthdata.model.synthesizer import Synthesizer as Synthesizer
    from synthdata.pipeline.config import PipelineConfig as PipelineConfig
    from synthdata.pipeline.config import load_config as load_config
    from synthdata.pipeline.lifecycle import run_pipeline as run_pipeline
    from synthdata.registry.compare import compare_runs as compare_runs
    from synthdata.registry.store import Registry as Registry
    from synthdata.schema import Schema as Schema
    from synthdata.split import split as split

# name -> module holding it; a name equal to its module's last part is that (callable) module
_WHERE: dict[str, str] = {
    "ingest": "synthdata.ingest",
    "split": "synthdata.split",
    "evaluate": "synthdata.evaluate",
    "Schema": "synthdata.schema",
    "Synthesizer": "synthdata.model.synthesizer",
    "EvalConfig": "synthdata.evaluate.config",
    "PipelineConfig": "synthdata.pipeline.config",
    "load_config": "synthdata.pipeline.config",
    "run_pipeline": "synthdata.pipeline.lifecycle",
    "Registry": "synthdata.registry.store",
    "compare_runs": "synthdata.registry.compare",
    "export_table": "synthdata.export.table",
}

__all__ = ["__version__", *_WHERE]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'synthdata' has no attribute {name!r}")
    module = importlib.import_module(where)
    return module if where.rsplit(".", 1)[-1] == name else getattr(module, name)


def __dir__() -> list[str]:
    """The API and the module's own dunders, not the helpers this file imports."""
    return sorted({*__all__, *(n for n in globals() if n.startswith("__"))})
