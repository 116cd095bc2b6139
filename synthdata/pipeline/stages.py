"""The stage bodies: ingest, split, train, generate, evaluate, export.

Each takes the running pipeline as a `StageContext` (context.py: the stages never import the
`Pipeline` class that runs them) and returns ``(artefact names written, note)``. Inputs are read from
``p.path(name)`` (the run directory); outputs are written to ``p.out(name)`` (the stage's private
staging folder), which the stage cache renames into place only when the stage succeeds — so a stage
never writes into a file another run shares by hard link.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from synthdata.atomic import atomic_path, atomic_write_text
from synthdata.log import get_logger, is_interactive, kv
from synthdata.pipeline.context import ExportHolder, StageContext, StageOutput
from synthdata.pipeline.manifest import CHECKPOINTS
from synthdata.pipeline.signals import cooperative_sigterm, stop_on_signal
from synthdata.schema import Schema, schema_path_for

log = get_logger("pipeline")


def schema_of(p: StageContext) -> Schema:
    return Schema.from_yaml(p.path("schema"))


def ingest(p: StageContext) -> StageOutput:
    from synthdata.ingest import ingest as run_ingest
    from synthdata.ingest import rejects_to_table

    s = p.cfg.source
    res = run_ingest(
        s.url if s.url is not None else s.path,  # type: ignore[arg-type]
        layout=s.layout,
        schema=s.schema_file,
        table=s.table,
        query=s.query,
        out=p.out("clean"),
        rejects=p.out("rejects"),
        report=p.out("ingest_report"),
        encoding=s.encoding,
        user_attributes=s.user_attributes,
        item_attributes=s.item_attributes,
        chunk_size=s.chunk_size,
        engine=s.engine,
        threads=s.threads,
        memory_limit=s.memory_limit,
        on_malformed=s.on_malformed,
        pad_short_records=s.pad_short_records,
    )
    rep = res.report.to_dict()
    if res.schema_path != p.out("schema"):
        import shutil

        shutil.copyfile(res.schema_path, p.out("schema"))
    note = f"rows_out={rep.get('rows_out')} rows_rejected={rep.get('rows_rejected')}"
    if s.rejects_to is not None:
        n = rejects_to_table(res, s.rejects_to, s.rejects_table)
        note += f" rejects_appended={n} rejects_table={s.rejects_table}"
    return ["clean", "schema", "rejects", "ingest_report"], note


def split(p: StageContext) -> StageOutput:
    from synthdata.split import split as run_split

    df = pd.read_parquet(p.path("clean"))
    schema = schema_of(p)
    train, test = run_split(df, schema, p.cfg.split.protocol, p.cfg.split.test_fraction, seed=p.cfg.seed)
    train.to_parquet(p.out("train"), index=False)
    test.to_parquet(p.out("test"), index=False)
    for name in ("train", "test"):  # so `synthdata evaluate --train runs/<id>/train.parquet` just works
        with atomic_path(schema_path_for(p.path(name)), durable=False) as tmp:
            schema.to_yaml(tmp)
    return ["train", "test"], f"train_rows={len(train)} test_rows={len(test)}"


def train(p: StageContext, h: str) -> StageOutput:
    import shutil

    t = p.cfg.train
    ckdir = p.run_dir / CHECKPOINTS
    marker = p.run_dir / f"{CHECKPOINTS}.input_hash"  # outside ckdir: Lightning wants it clean
    resume = False
    if ckdir.is_dir():
        # A checkpoint is only resumable when it was made for exactly these inputs and config.
        if marker.is_file() and marker.read_text().strip() == h and (ckdir / "last.ckpt").is_file():
            resume = True
        else:
            shutil.rmtree(ckdir)
    ckdir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(marker, h, durable=False)
    syn = _synthesizer_factory(p)(schema_of(p))
    log.info(
        kv(
            event="train_start",
            run=p.run_id,
            resume=resume,
            warm_start=p.warm_start_from or "-",
            epochs=t.epochs,
        )
    )
    with cooperative_sigterm():  # raising mid-training could land anywhere; check per batch
        syn.fit(
            pd.read_parquet(p.path("train")),
            checkpoint_dir=ckdir,
            resume=resume,
            init_from=p.warm_start_model,
            warm_start_partial=t.warm_start_partial,
            callbacks=[stop_on_signal()],
            loggers=p.tracking.training_loggers(),
        )
    syn.save(p.out("model"))
    meta = syn.meta
    parts = [f"epochs_trained={meta.get('epochs_trained')}"]
    if resume:
        parts.insert(0, "resumed from last checkpoint")
    if p.warm_start_from:
        parts.insert(0, f"warm-started from {p.warm_start_from}")
    return ["model"], " ".join(parts)


def generate(p: StageContext) -> StageOutput:
    import pyarrow.parquet as pq

    from synthdata.model.synthesizer import Synthesizer

    g = p.cfg.generate
    syn = Synthesizer.load(p.path("model"))
    kw = {"batch_rows": g.batch_rows} if g.batch_rows else {}
    users = p.cfg.user_strategy()
    if users is not None:  # virtual users or neighbours of cold users, as evaluate will select them
        return _generate_users(p, syn, users, kw)
    n = g.rows or max(1, round(pq.ParquetFile(p.path("train")).metadata.num_rows * g.multiplier))
    rows = syn.sample_to_parquet(p.out("synth"), n, seed=p.cfg.seed, **kw)
    return ["synth"], f"rows={rows}"


def _generate_users(p: StageContext, syn: Any, u: dict[str, Any], kw: dict[str, Any]) -> StageOutput:
    from synthdata.evaluate.augment import cold_item_users, cold_users

    train = pd.read_parquet(p.path("train"))
    schema = schema_of(p)
    if u["strategy"] == "virtual-users":
        n = u["virtual_users"] or int(train[schema.user_col].nunique())
        rows = syn.sample_to_parquet(p.out("synth"), users=n, seed=p.cfg.seed, **kw)
        return ["synth"], f"rows={rows} virtual_users={n}"
    active = set(syn.encoder.active_ids())  # users with a positive: neighbours need a history
    if u["strategy"] == "cold-items":  # histories model: neighbours of the users who liked a cold item
        like, what = cold_item_users(train, schema, u["cold_item_threshold"]), "cold_item_users"
    else:
        like, what = cold_users(train, schema, u["cold_threshold"]), "cold_users"
    like = [x for x in like if x in active]
    if not like:  # nothing to target: an empty synthetic table, and evaluate says so
        train.iloc[:0].to_parquet(p.out("synth"), index=False)
        log.warning(kv(stage="generate", strategy=u["strategy"], note=f"no {what}: no synthetic rows"))
        return ["synth"], f"rows=0 {what}=0"
    rows = syn.sample_to_parquet(p.out("synth"), like=like, per_user=u["neighbours"], seed=p.cfg.seed, **kw)
    return ["synth"], f"rows={rows} {what}={len(like)} neighbours_each={u['neighbours']}"


def _synthesizer_factory(p: StageContext):
    """Unfitted synthesizers configured exactly like the train stage's (for the tuning synthesizer)."""
    from synthdata.model.synthesizer import Synthesizer

    t = p.cfg.train
    hp = {"progress_bar": is_interactive(), **t.hp}

    def make(schema: Schema) -> Synthesizer:
        return Synthesizer(
            schema,
            model=t.model,
            epochs=t.epochs,
            batch_size=t.batch_size,
            max_minutes=t.max_minutes,
            seed=p.cfg.seed,
            accelerator=t.accelerator,
            devices=t.devices,
            strategy=t.strategy,
            num_nodes=t.num_nodes,
            **hp,
        )

    return make


def evaluate(p: StageContext) -> StageOutput:
    """Score the run; by default the augmented model is tuned with rows from a second synthesizer fitted
    on the inner training split only (`evaluate.tune_synthesizer`), so tuning is leak-free."""
    from synthdata.evaluate import evaluate as run_evaluate
    from synthdata.evaluate.report import write_html, write_metrics_json
    from synthdata.pipeline.experiment import tuning_synthetic

    schema = schema_of(p)
    train = pd.read_parquet(p.path("train"))
    test = pd.read_parquet(p.path("test"))
    synth = pd.read_parquet(p.path("synth"))
    cfg = p.cfg.evaluate
    if cfg.split_protocol is None:  # validation is carved the way the test split was
        cfg = cfg.model_copy(update={"split_protocol": p.cfg.split.protocol})
    val_synth, note = None, "tuning rows: final synthetic minus training pairs (tune_synthesizer: false)"
    if cfg.tune_synthesizer:
        share = len(synth) / max(1, len(train))
        with cooperative_sigterm():
            val_synth = tuning_synthetic(
                _synthesizer_factory(p), train, schema, cfg, share=share, seed=p.cfg.seed
            )
        note = f"tuning rows: {len(val_synth)} from a synthesizer fitted on the inner training split"
    metrics = run_evaluate(train, test, synth, schema, cfg, val_synthetic=val_synth)
    write_metrics_json(metrics, p.out("metrics"))
    write_html(metrics, p.out("report"), train=train, synthetic=synth, schema=schema)
    verdict = ", ".join(f"{k}={v}" for k, v in metrics["recsys"].get("verdict", {}).items())
    leak = metrics.get("leakage", {})
    if leak.get("warning"):
        note = f"WARNING {leak['note']}; {note}"
    return ["metrics", "report"], f"verdict {verdict or 'none'}; {note}"


def export(p: StageContext, result: ExportHolder) -> StageOutput:
    from synthdata.export import export_table

    ex = p.cfg.export
    assert ex.url is not None and ex.table is not None
    res = export_table(
        p.path("synth"),
        ex.url,
        ex.table,
        if_exists=ex.if_exists,  # type: ignore[arg-type]
        chunk_size=ex.chunk_size,
    )
    result.export = res
    return [], f"rows={res.rows} table={res.table} url={res.url} rows_per_s={res.rows_per_s:.0f}"
