"""Run dates in the registry (migration 0003): recorded, filtered, the last succeeded run per date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from synthdata.db import create_engine
from synthdata.registry import Registry, migrate

DAY, NEXT = date(2026, 12, 1), date(2026, 12, 2)


def _run(reg: Registry, rid: str, status: str, *, name: str = "daily", day: date | None = DAY) -> None:
    reg.create_run(rid, name=name, config_hash="c" * 64, run_date=day, source_fingerprint=f"fp-{rid}")
    reg.finish_run(rid, status, exit_code=0 if status == "succeeded" else 1)


def test_run_date_and_fingerprint_round_trip_and_last_succeeded_per_date(db_url: str) -> None:
    with Registry(db_url) as reg:
        _run(reg, "old", "succeeded")
        _run(reg, "new", "succeeded")
        _run(reg, "newest-failed", "failed")  # a failure never stands for the date
        _run(reg, "other-pipeline", "succeeded", name="weekly")
        _run(reg, "next-day", "succeeded", day=NEXT)
        _run(reg, "undated", "succeeded", day=None)
        info = reg.get_run("new")
        assert info is not None and info.run_date == DAY and info.source_fingerprint == "fp-new"
        last = reg.last_succeeded("daily", DAY)
        assert last is not None and last.id == "new"
        assert reg.last_succeeded("weekly", DAY).id == "other-pipeline"  # type: ignore[union-attr]
        assert reg.last_succeeded("daily", NEXT).id == "next-day"  # type: ignore[union-attr]
        assert reg.last_succeeded("daily", None).id == "undated"  # type: ignore[union-attr]
        assert reg.last_succeeded("daily", date(2026, 11, 30)) is None
        assert {r.id for r in reg.list_runs(run_date=DAY)} == {
            "old",
            "new",
            "newest-failed",
            "other-pipeline",
        }
        assert [r.id for r in reg.list_runs(run_date=NEXT)] == ["next-day"]
        reg.set_source("old", NEXT, "fp-resumed")  # a resumed run records what it now processes
        moved = reg.get_run("old")
        assert moved is not None and moved.run_date == NEXT and moved.source_fingerprint == "fp-resumed"


def test_migration_0003_upgrades_a_0002_registry_keeping_its_runs(db_url: str) -> None:
    eng = create_engine(db_url)
    try:
        migrate.upgrade(eng, "0002")
        with eng.begin() as c:
            c.execute(
                sa.text(
                    "INSERT INTO runs (id, name, status, created_at) VALUES ('before', 'n', 'succeeded', :t)"
                ),
                {"t": datetime(2026, 11, 30, tzinfo=UTC)},
            )
        assert "run_date" not in {c["name"] for c in sa.inspect(eng).get_columns("runs")}
        migrate.upgrade(eng)
        assert migrate.current_revision(eng) == migrate.head_revision()
        insp = sa.inspect(eng)
        assert {"run_date", "source_fingerprint"} <= {c["name"] for c in insp.get_columns("runs")}
        assert any(ix["column_names"] == ["run_date"] for ix in insp.get_indexes("runs"))
        with Registry(db_url) as reg:
            before = reg.get_run("before")
            assert before is not None and before.run_date is None and before.source_fingerprint is None
            _run(reg, "after", "succeeded")
            assert reg.last_succeeded("daily", DAY).id == "after"  # type: ignore[union-attr]
        migrate.downgrade(eng, "0002")  # and back: the columns go, the runs stay
        assert "run_date" not in {c["name"] for c in sa.inspect(eng).get_columns("runs")}
        with eng.connect() as c:
            assert set(c.scalars(sa.text("SELECT id FROM runs"))) == {"before", "after"}
    finally:
        eng.dispose()
