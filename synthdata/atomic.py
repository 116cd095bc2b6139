"""Write outputs to a temporary file in the target's folder, then rename it into place.

Why: a reader (or another run that hard-linked the file) must only ever see the old content or the
complete new content, never a torn file, and a write must never go *through* a link. ``os.replace``
swaps the directory entry: when the target is a hard link shared with another run, or a symlink, the
link is replaced and the file it pointed to is left untouched. A crash leaves at most a hidden
``.tmp-*`` file next to the target, never a half-written target.

    with atomic_path("out/report.html") as tmp:   # any writer that takes a path
        write_html(..., tmp)
    atomic_write_text("out/metrics.json", text)   # small text/bytes outputs
    with atomic_open("out/data.csv", "w") as f:   # a file object
        f.write(...)
    staging = Staging()                           # several outputs that land together
    write_parquet(..., staging.path(Path("out/clean.parquet"))); staging.commit()  # or .abort()
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TMP_PREFIX = ".tmp-"


def temp_path_for(dst: str | Path) -> Path:
    """A fresh hidden name in `dst`'s folder that keeps `dst`'s suffixes (writers infer formats from them)."""
    d = Path(dst)
    return d.with_name(f"{TMP_PREFIX}{secrets.token_hex(6)}-{d.name}")


def _reserve(tmp: Path) -> None:
    """Create `tmp` exclusively (never follows a planted link; mode from the umask like any new file)."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def commit(tmp: Path, dst: Path, *, durable: bool = True) -> None:
    """Rename `tmp` over `dst` (replacing a file or link entry, never writing into what it points to)."""
    if dst.is_dir() and not dst.is_symlink():
        raise IsADirectoryError(f"cannot replace folder {dst} with a file")
    if durable:
        _fsync_file(tmp)
    os.replace(tmp, dst)
    if durable:
        _fsync_dir(dst.parent)


class Staging:
    """Several outputs written under temporary names, then renamed into place together.

    `path(final)` hands out a temporary name beside `final` (creating missing folders); `add(tmp,
    final)` registers a file written elsewhere on the same filesystem (e.g. in a private staging
    folder). `commit()` renames each onto its final path in the order given (a rename replaces a link
    instead of writing through it); `abort()` removes every temporary file and the folders `path` or
    `folder` created, deepest first. Used by ingestion (clean table, rejects, schema, report) and the
    pipeline's stage cache (a stage's artefacts and side files).
    """

    def __init__(self, *, durable: bool = True) -> None:
        self.durable = durable
        self.pairs: list[tuple[Path, Path]] = []
        self.made: list[Path] = []

    def folder(self, d: Path) -> None:
        """Create `d` and its missing parents; `abort` removes them again if they stay empty."""
        missing = [p for p in [d, *d.parents] if not p.exists()]
        d.mkdir(parents=True, exist_ok=True)
        self.made += missing

    def path(self, final: Path) -> Path:
        """A temporary path beside `final` to write to; renamed onto `final` by `commit`."""
        self.folder(final.parent)
        tmp = temp_path_for(final)
        self.pairs.append((tmp, final))
        return tmp

    def add(self, tmp: Path, final: Path) -> None:
        """Rename `tmp` (already written, same filesystem as `final`) onto `final` at `commit`."""
        self.pairs.append((tmp, final))

    def commit(self, *, missing_ok: bool = True) -> None:
        """Rename every staged file into place; with `missing_ok`, a temp never written is skipped."""
        for tmp, final in self.pairs:
            if missing_ok and not tmp.exists():
                continue
            commit(tmp, final, durable=self.durable)

    def abort(self) -> None:
        for tmp, _ in self.pairs:
            tmp.unlink(missing_ok=True)
        for d in self.made:  # deepest first
            with contextlib.suppress(OSError):
                d.rmdir()


@contextlib.contextmanager
def atomic_path(dst: str | Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to `dst`; on success it is renamed onto `dst`, on error removed.

    The temporary file exists (empty) when yielded, so writers that truncate or overwrite work; the
    parent folder must exist (a missing one is an error, like for a plain ``open``).
    """
    target = Path(dst)
    tmp = temp_path_for(target)
    _reserve(tmp)
    try:
        yield tmp
        commit(tmp, target, durable=durable)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_open(
    dst: str | Path, mode: str = "w", *, encoding: str | None = None, durable: bool = True, **kw: Any
) -> Iterator[IO[Any]]:
    """``open(dst, mode)`` that only replaces `dst` once the block finished without an error."""
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_open writes whole files; mode must be w, wt or wb, not {mode!r}")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with atomic_path(dst, durable=durable) as tmp, open(tmp, mode, encoding=encoding, **kw) as f:
        yield f


def atomic_write_text(dst: str | Path, text: str, *, encoding: str = "utf-8", durable: bool = True) -> Path:
    with atomic_open(dst, "w", encoding=encoding, durable=durable) as f:
        f.write(text)
    return Path(dst)


def atomic_write_bytes(dst: str | Path, data: bytes, *, durable: bool = True) -> Path:
    with atomic_open(dst, "wb", durable=durable) as f:
        f.write(data)
    return Path(dst)


def ensure_writable(path: str | Path, *, what: str = "output", folder: bool = False) -> Path:
    """Check, before any work starts, that `path` (a file, or a folder with ``folder=True``) can be
    created or replaced: its nearest existing ancestor is a writable folder and nothing in the way
    is a file. Raises `InputError` (exit 2) naming the path; leaves nothing behind (a probe file is
    created and removed at once).
    """
    from synthdata.errors import InputError

    p = Path(path).expanduser()
    if p.exists():
        if folder and not p.is_dir():
            raise InputError(f"cannot use {what}: it exists and is not a folder", path=str(p))
        if not folder and p.is_dir():
            raise InputError(f"cannot write {what}: it is a folder", path=str(p))
    anc = p if (folder and p.is_dir()) else p.parent
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        raise InputError(f"cannot write {what}: {anc} is a file, not a folder", path=str(p))
    try:  # the only reliable test (root ignores permission bits; /proc and read-only mounts do not)
        probe = temp_path_for(anc / "probe")
        _reserve(probe)
        probe.unlink()
    except OSError as e:
        msg = f"cannot write {what}: folder {anc} is not writable ({e.strerror})"
        raise InputError(msg, path=str(p)) from None
    return p


def atomic_copy(src: str | Path, dst: str | Path, *, durable: bool = True) -> Path:
    """Copy `src`'s bytes to `dst` (a fresh inode; never writes into an existing `dst` or its link)."""
    import shutil

    with atomic_path(dst, durable=durable) as tmp:
        shutil.copyfile(src, tmp)
    return Path(dst)
