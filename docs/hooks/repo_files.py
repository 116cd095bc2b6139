"""MkDocs hook: repository files the pages link to, copied into the site under the same paths, and
README blocks shown on a page.

Why: every figure in the docs points at the raw output it came from (`benchmarks/results/`), and pages
link the notebook and the pipeline examples; those files live outside `docs/`, and a link MkDocs
cannot resolve fails the `--strict` build. Pages link them as `../benchmarks/results/x`, which is
right when the Markdown is read on its own; in the site the same link points at the copy. The
benchmarks page gets the list of every results file, so a new result is listed without editing it.
The command table lives once, in the README (`<!-- cli:start -->` … `<!-- cli:end -->`), and a page
shows it with `<!-- readme:cli -->`; its `docs/…` links are made relative to the docs folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("benchmarks/results", "notebooks", "pipelines")
RENDERED = "benchmarks/results/"  # its Markdown tables become pages; everything else is copied as is
RESULTS_INDEX = "<!-- results-index -->"
README_BLOCK = re.compile(r"<!-- readme:(\w+)[^>]*-->")


def _repo_files(folder: str) -> list[str]:
    """Plain files under `folder`, repository-relative, skipping hidden and cache entries."""
    base = ROOT / folder
    return [
        p.relative_to(ROOT).as_posix()
        for p in sorted(base.rglob("*"))
        if p.is_file() and not any(part.startswith((".", "__")) for part in p.relative_to(base).parts)
    ]


class _AsIs(File):
    """A file copied byte for byte, Markdown included (a README beside examples is not a site page)."""

    def is_documentation_page(self) -> bool:
        return False


def on_files(files: Files, config: Any) -> Files:
    for folder in COPIED:
        for rel in _repo_files(folder):
            kind = File if rel.startswith(RENDERED) else _AsIs
            files.append(kind(rel, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def _readme_block(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(rf"<!-- {name}:start[^>]*-->\n(.*?)<!-- {name}:end -->", text, re.S)
    if block is None:
        raise PluginError(f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> block")
    return block.group(1).replace("](docs/", "](")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    markdown = README_BLOCK.sub(lambda m: _readme_block(m.group(1)), markdown)
    if "/" not in page.file.src_uri:  # a page at the top of docs/: its ../ is the repository
        for folder in COPIED:
            markdown = markdown.replace(f"](../{folder}", f"]({folder}")
    if RESULTS_INDEX not in markdown:
        return markdown
    rows = [f"- [`{rel}`]({rel})" for rel in _repo_files("benchmarks/results")]
    return markdown.replace(RESULTS_INDEX, "\n".join(rows))
