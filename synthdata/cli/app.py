"""The Typer application object; command modules attach themselves to it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="synthdata",
    help="Synthetic user-behaviour data for recommender systems, and proof of whether it helps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
