"""The README stays an entry page: short, its command table lists every command the CLI registers, and
every docs page it links exists (the site build checks the pages' own links)."""

from __future__ import annotations

import re
from pathlib import Path

from synthdata.cli import _register
from synthdata.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_short() -> None:
    assert len(README.splitlines()) <= 150


def test_the_command_table_lists_every_command() -> None:
    _register([])  # import every command module, as `synthdata` does
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert {"ingest", "train", "generate", "evaluate", "run", "runs"} <= names
    table = re.search(r"<!-- cli:start[^>]*-->\n(.*?)<!-- cli:end -->", README, re.S)
    assert table is not None, "README lost its command table markers"
    listed = set(re.findall(r"^\| `synthdata (\w+)", table.group(1), re.M))
    assert names <= listed, f"commands missing from the README's table: {sorted(names - listed)}"


def test_every_linked_docs_page_exists() -> None:
    pages = set(re.findall(r"\]\((docs/[^)#]+)", README))
    assert pages
    assert [p for p in sorted(pages) if not (ROOT / p).is_file()] == []
