"""`synthdata train` (fit a model on a clean table) and `synthdata generate` (sample from a model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import typer

from synthdata.atomic import ensure_writable
from synthdata.cli.app import app
from synthdata.cli.split import read_table
from synthdata.errors import ConfigError, InputError
from synthdata.log import get_logger, is_interactive, kv
from synthdata.schema import Schema, schema_path_for

log = get_logger("cli.train")


def _schema_for(table: Path, schema: Path | None) -> Schema:
    """Explicit --schema, else `<stem>.schema.yaml` beside the table, else one inferred from it."""
    if schema is not None:
        return Schema.from_yaml(schema)
    beside = schema_path_for(table)
    if beside.exists():
        return Schema.from_yaml(beside)
    from synthdata.ingest.infer import infer_schema
    from synthdata.ingest.sources import open_parquet

    src = open_parquet(table)
    sample = next(iter(src.chunks()))
    inferred = infer_schema(sample, src, origin=str(table))
    log.info(kv(event="schema_inferred", table=table, hint=f"save and edit it as {beside}"))
    return inferred


def _devices(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _parse_where(where: list[str]) -> dict[str, list[str]]:
    """COLUMN=VALUE pairs; a column given more than once collects its values (stripped, de-duplicated)."""
    out: dict[str, list[str]] = {}
    for w in where:
        col, sep, val = w.partition("=")
        col, val = col.strip(), val.strip()
        if not sep or not col or not val:
            raise ConfigError(f"--where {w!r}: expected COLUMN=VALUE")
        vals = out.setdefault(col, [])
        if val not in vals:
            vals.append(val)
    return out


def _conditions(where: dict[str, list[str]], rows: int, seed: int) -> dict[str, Any] | None:
    """One value: every row has it. Several values for a column: each row gets one of them, drawn
    uniformly at random (seeded), so `--where country=DE --where country=FR` gives about half each."""
    if not where:
        return None
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(9,)))
    return {
        c: v[0] if len(v) == 1 else np.asarray(v, dtype=object)[rng.integers(len(v), size=rows)]
        for c, v in where.items()
    }


def _hp(pairs: list[str]) -> dict[str, Any]:
    """--hp KEY=VALUE (repeatable); values are YAML scalars/lists (`z_dim=32`, `gen_hidden=[256,256]`)."""
    import yaml

    out: dict[str, Any] = {}
    for p in pairs:
        key, sep, val = p.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--hp {p!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = yaml.safe_load(val)
        except yaml.YAMLError:
            raise ConfigError(f"--hp {p!r}: value is not a YAML scalar or list") from None
    return out


@app.command("train")
def train_cmd(
    table: Path = typer.Argument(..., help="Clean interaction table (Parquet) from `synthdata ingest`."),
    schema: Path | None = typer.Option(None, "--schema", help="Schema YAML (default: <stem>.schema.yaml)."),
    out: Path = typer.Option(..., "--out", help="Model file to write (.ckpt)."),
    model: str = typer.Option(
        "gan", "--model", help="gan | vae (row family) or multvae | multdae (histories family)."
    ),
    hp: list[str] = typer.Option([], "--hp", help="Hyperparameter KEY=VALUE (repeatable), checked by type."),
    epochs: int | None = typer.Option(
        None, "--epochs", help="Total training epochs (default: 100 for row models, 200 for histories)."
    ),
    max_minutes: float | None = typer.Option(None, "--max-minutes", help="Wall-clock training budget."),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(
        2000, "--batch-size", help="Rows per step (row models), users (histories)."
    ),
    accelerator: str = typer.Option("auto", "--accelerator", help="auto | cpu | gpu | ..."),
    devices: str = typer.Option("auto", "--devices", help="auto, a count, or e.g. -1 for all."),
    strategy: str = typer.Option("auto", "--strategy", help="auto | ddp | ..."),
    num_nodes: int = typer.Option(
        1, "--num-nodes", help="Machines training as one DDP job (run this on each; docs/scale-out.md)."
    ),
    checkpoint_dir: Path | None = typer.Option(
        None, "--checkpoint-dir", help="Keep last.ckpt/best.ckpt here."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from last.ckpt in --checkpoint-dir (same table and settings only)."
    ),
    init_from: Path | None = typer.Option(None, "--init-from", help="Warm-start from this model file."),
    warm_start_partial: bool = typer.Option(
        False, "--warm-start-partial", help="Allow --init-from a model of another schema (copies what fits)."
    ),
    mlflow: str | None = typer.Option(
        None, "--mlflow", metavar="URI", help="Track this fit as an MLflow run (params, curves, fit numbers)."
    ),
) -> None:
    """Fit a synthesizer on a clean table and save it as one file."""
    from synthdata.model.synthesizer import Synthesizer
    from synthdata.tracking.commands import tracked_training

    ensure_writable(out, what="--out")  # before training, not after it
    if checkpoint_dir is not None:
        ensure_writable(checkpoint_dir, what="--checkpoint-dir", folder=True)
    if resume and checkpoint_dir is None:
        raise ConfigError("--resume needs --checkpoint-dir")
    if init_from is not None and not init_from.is_file():
        raise InputError("model file not found", path=str(init_from))
    params = _hp(hp)
    params.setdefault(
        "progress_bar", is_interactive()
    )  # a bar on a terminal, one log line per epoch otherwise
    syn = Synthesizer(  # hyperparameters are validated before the table is read
        _schema_for(table, schema),
        model=model,
        epochs=epochs,
        batch_size=batch_size,
        max_minutes=max_minutes,
        seed=seed,
        accelerator=accelerator,
        devices=_devices(devices),
        strategy=strategy,
        num_nodes=num_nodes,
        **params,
    )
    df = read_table(table, "training")
    with tracked_training(mlflow, syn, table, out) as tracker:
        syn.fit(
            df,
            checkpoint_dir=checkpoint_dir,
            resume=resume,
            init_from=init_from,
            warm_start_partial=warm_start_partial,
            loggers=tracker.training_loggers(),
        )
        _save_on_rank_zero(syn, out)


def _save_on_rank_zero(syn: Any, out: Path) -> None:
    """Rank 0 writes the model; every rank prints its weights' digest (all ranks of a DDP fit end with
    the same weights, so the digests agree)."""
    from synthdata.model.distributed import weights_digest

    digest = weights_digest(syn.net.state_dict())
    if syn.rank != 0:
        typer.echo(f"rank {syn.rank}: trained with rank 0, weights={digest}; rank 0 writes {out}")
        return
    syn.save(out)
    m, score = syn.meta, syn.family.monitor
    typer.echo(
        f"model {out}: {syn.model} rows={m['train_rows']} epochs={m['epochs_trained']} "
        f"{score}={m[f'best_{score}']} train_s={m['train_seconds']} weights={digest}"
    )


@app.command("generate")
def generate_cmd(
    model: Path = typer.Argument(..., help="Model file from `synthdata train`."),
    rows: int | None = typer.Option(None, "--rows", min=0, help="Rows to generate."),
    users: int | None = typer.Option(
        None, "--users", min=0, help="Histories models: this many virtual users (new ids), all their rows."
    ),
    like: list[str] = typer.Option(
        [], "--like", help="Histories models: make neighbours of this real user id (repeatable)."
    ),
    like_file: Path | None = typer.Option(
        None, "--like-file", help="Histories models: user ids to make neighbours of, one per line."
    ),
    per_user: int = typer.Option(1, "--per-user", min=1, help="Neighbours per --like user."),
    out: Path = typer.Option(..., "--out", help="File to write: .parquet (or .pq) or .csv, by suffix."),
    where: list[str] = typer.Option(
        [],
        "--where",
        help="COLUMN=VALUE condition, exact. Repeat for more columns; repeat a column to spread rows "
        "uniformly over its values.",
    ),
    seed: int = typer.Option(0, "--seed"),
    batch_rows: int = typer.Option(50_000, "--batch-rows", min=1, help="Rows per streamed batch."),
    shard: str | None = typer.Option(
        None,
        "--shard",
        help="I/N: write only shard I (0-based) of N; the N shards in order are the unsharded output. "
        "`{shard}` in --out becomes 00003-of-00016.",
    ),
    trust_legacy_pickle: bool = typer.Option(
        False, "--trust-legacy-pickle", help="Load a version-1 (pickle) model file you made yourself."
    ),
) -> None:
    """Sample rows, virtual users or neighbours (streamed to Parquet or CSV; memory stays bounded)."""
    from synthdata.model.rows.sample import output_format
    from synthdata.model.shard import Shard
    from synthdata.model.synthesizer import Synthesizer

    part = Shard.parse(shard) if shard is not None else Shard()
    out = Path(str(out).replace("{shard}", part.label))
    output_format(out)  # an unknown suffix fails before the model is loaded
    ensure_writable(out, what="--out")
    conds = _parse_where(where)
    ids = [*like, *_read_ids(like_file)]
    if sum(x is not None and x != [] for x in (rows, users, ids or None)) != 1:
        raise ConfigError("give exactly one of --rows N, --users N or --like ID/--like-file F")
    if not model.exists():
        raise InputError("model file not found", path=str(model))
    syn = Synthesizer.load(model, trust_legacy_pickle=trust_legacy_pickle)
    n = syn.sample_to_parquet(
        out,
        rows,
        conditions=_conditions(conds, rows or 0, seed),
        seed=seed,
        batch_rows=batch_rows,
        users=users,
        like=ids,
        per_user=per_user,
        shard=part,
    )
    what = f" of {users} virtual users" if users is not None else ""
    what = f" of neighbours of {len(ids)} users ({per_user} each)" if ids else what
    what += f" (shard {part.index}/{part.count})" if not part.whole else ""
    typer.echo(f"wrote {n} rows{what} to {out}")


def _read_ids(path: Path | None) -> list[str]:
    """One id per line; blank lines and `#` comments skipped."""
    if path is None:
        return []
    if not path.is_file():
        raise InputError("--like-file not found", path=str(path))
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]
