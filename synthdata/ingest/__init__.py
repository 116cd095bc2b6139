"""Ingestion: read CSV / Parquet / SQL sources in chunks, validate against a schema, merge exact
duplicates, resolve attribute conflicts, aggregate event logs, and write a clean interaction table
with its schema, a rejects file and a JSON report.

    from synthdata.ingest import ingest
    res = ingest("data/sample", out="runs/demo/clean.parquet", report="runs/demo/report.json")
    res.report.to_dict()["rows_rejected"]
"""

from synthdata.callable_module import make_callable
from synthdata.ingest.api import IngestResult, ingest, rejects_to_table, sidecar
from synthdata.ingest.layouts import LAYOUTS
from synthdata.ingest.report import IngestReport
from synthdata.ingest.rules import REASONS

__all__ = ["LAYOUTS", "REASONS", "IngestReport", "IngestResult", "ingest", "rejects_to_table", "sidecar"]

make_callable(__name__, "ingest")  # `synthdata.ingest(...)` is `ingest(...)`: the top-level API
