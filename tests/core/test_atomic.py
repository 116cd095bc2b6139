"""`synthdata.atomic`: outputs are renamed into place, never written through a link, never torn."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthdata.atomic import (
    TMP_PREFIX,
    Staging,
    atomic_copy,
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TMP_PREFIX))


def test_write_replaces_content_and_leaves_no_temp(tmp_path: Path) -> None:
    dst = tmp_path / "out.json"
    dst.write_text("old")
    atomic_write_text(dst, "new")
    assert dst.read_text() == "new"
    assert _leftovers(tmp_path) == []


def test_hard_link_partner_is_never_changed(tmp_path: Path) -> None:
    other = tmp_path / "other_run.parquet"
    other.write_bytes(b"other run's data")
    mine = tmp_path / "mine.parquet"
    os.link(other, mine)  # what the stage cache does when it reuses an output
    atomic_write_bytes(mine, b"re-run output")
    assert mine.read_bytes() == b"re-run output"
    assert other.read_bytes() == b"other run's data"
    assert os.stat(mine).st_ino != os.stat(other).st_ino


def test_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "out.txt"
    link.symlink_to(victim)
    atomic_write_text(link, "output")
    assert not link.is_symlink()
    assert link.read_text() == "output"
    assert victim.read_text() == "precious"


def test_error_keeps_old_file_and_removes_temp(tmp_path: Path) -> None:
    dst = tmp_path / "report.html"
    dst.write_text("complete old report")
    with pytest.raises(RuntimeError), atomic_open(dst, "w") as f:
        f.write("half a rep")
        raise RuntimeError("writer died")
    assert dst.read_text() == "complete old report"
    assert _leftovers(tmp_path) == []


def test_atomic_path_keeps_suffixes_for_format_sniffing_writers(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "clean.schema.yaml") as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.endswith("clean.schema.yaml") and tmp.name.startswith(TMP_PREFIX)
        assert tmp.exists()  # reserved exclusively, then handed to the writer
        tmp.write_text("a: 1\n")
    assert (tmp_path / "clean.schema.yaml").read_text() == "a: 1\n"


def test_new_file_mode_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = atomic_write_text(tmp_path / "x.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_missing_folder_and_folder_target_are_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "nope" / "x.txt", "x")
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path / "d", "x")
    assert _leftovers(tmp_path) == []


def test_unwritable_folder_is_an_os_error_and_changes_nothing(tmp_path: Path) -> None:
    # root ignores permission bits, so use a "folder" that is a file: writing below it always fails
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("kept")
    with pytest.raises(NotADirectoryError):
        atomic_write_text(blocker / "x.txt", "new")
    assert blocker.read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_dir"]


def test_copy_gives_a_fresh_inode(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"abc")
    dst = tmp_path / "dst.bin"
    os.link(src, dst)
    atomic_copy(src, dst)
    assert dst.read_bytes() == b"abc" and os.stat(dst).st_ino != os.stat(src).st_ino


def test_bad_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError), atomic_open(tmp_path / "x", "a"):
        pass


def test_staging_lands_every_output_together_through_links(tmp_path: Path) -> None:
    other = tmp_path / "other_run.parquet"
    other.write_bytes(b"other run's data")
    clean = tmp_path / "clean.parquet"
    os.link(other, clean)  # a reused output: the new one must replace the link, not write through it
    staging = Staging(durable=False)
    staging.path(clean).write_bytes(b"new")
    written_elsewhere = tmp_path / "private" / "report.json"
    written_elsewhere.parent.mkdir()
    written_elsewhere.write_text("{}")
    staging.add(written_elsewhere, tmp_path / "report.json")
    staging.path(tmp_path / "rejects.parquet")  # never written: skipped unless missing_ok=False
    assert clean.read_bytes() == b"other run's data"  # nothing lands before commit
    staging.commit()
    assert clean.read_bytes() == b"new" and other.read_bytes() == b"other run's data"
    assert (tmp_path / "report.json").read_text() == "{}" and not written_elsewhere.exists()
    assert not (tmp_path / "rejects.parquet").exists() and _leftovers(tmp_path) == []


def test_staging_commit_can_require_every_output(tmp_path: Path) -> None:
    staging = Staging(durable=False)
    staging.add(tmp_path / "never_written.parquet", tmp_path / "out.parquet")
    with pytest.raises(FileNotFoundError):
        staging.commit(missing_ok=False)


def test_staging_abort_removes_temps_and_the_folders_it_made(tmp_path: Path) -> None:
    staging = Staging()
    staging.path(tmp_path / "new" / "deeper" / "out.parquet").write_bytes(b"half")
    staging.path(tmp_path / "kept.parquet").write_bytes(b"half")
    staging.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@settings(max_examples=30, deadline=None)
@given(first=st.binary(max_size=200), second=st.binary(max_size=200))
def test_round_trip_any_bytes(tmp_path_factory: pytest.TempPathFactory, first: bytes, second: bytes) -> None:
    folder = tmp_path_factory.mktemp("rt")
    dst = folder / "blob.bin"
    atomic_write_bytes(dst, first)
    atomic_write_bytes(dst, second, durable=False)
    assert dst.read_bytes() == second
    assert _leftovers(folder) == []


def test_ensure_writable_checks_without_leaving_anything(tmp_path: Path) -> None:
    from synthdata.atomic import ensure_writable
    from synthdata.errors import InputError

    (tmp_path / "file").write_text("x")
    assert (
        ensure_writable(tmp_path / "new" / "deeper" / "out.html") == tmp_path / "new" / "deeper" / "out.html"
    )
    assert ensure_writable(tmp_path / "runs", folder=True) == tmp_path / "runs"
    with pytest.raises(InputError, match="is a file, not a folder"):
        ensure_writable(tmp_path / "file" / "out.html")
    with pytest.raises(InputError, match="not a folder"):
        ensure_writable(tmp_path / "file", folder=True)
    with pytest.raises(InputError, match="is a folder"):
        ensure_writable(tmp_path)
    with pytest.raises(InputError, match="not writable"):
        ensure_writable(Path("/proc/synthdata-test/out.html"))  # refuses even root
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_os_errors_become_one_line_naming_the_file() -> None:
    from synthdata.errors import USER_PATH_ERRORS, os_error_line

    e = PermissionError(13, "Permission denied", "/srv/out/report.html")
    assert os_error_line(e) == "Permission denied: /srv/out/report.html" and isinstance(e, USER_PATH_ERRORS)
    e2 = OSError(28, "No space left on device", "sqlite:///x.db?password=hunter2")
    assert "hunter2" not in os_error_line(e2) and not isinstance(e2, USER_PATH_ERRORS)
