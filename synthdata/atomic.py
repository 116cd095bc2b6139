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
    is a file. Raises `InputError` (exit 2) naming the path; creates nothing.
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
    if not os.access(anc, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {what}: folder {anc} is read-only", path=str(p))
    return p


def atomic_copy(src: str | Path, dst: str | Path, *, durable: bool = True) -> Path:
    """Copy `src`'s bytes to `dst` (a fresh inode; never writes into an existing `dst` or its link)."""
    import shutil

    with atomic_path(dst, durable=durable) as tmp:
        shutil.copyfile(src, tmp)
    return Path(dst)
