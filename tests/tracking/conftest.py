"""A real `mlflow server` on 127.0.0.1 per backend store (SQLite, PostgreSQL), started by the tests.

The server runs in its own process group (it starts uvicorn workers), so teardown stops exactly the
processes it started. MLflow's background job runner is switched off: the tests need none of it.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

if importlib.util.find_spec("mlflow") is None:  # skipped locally without the extra, a failure in CI
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        raise RuntimeError("MLflow is missing in CI: install synthdata[tracking]")
    pytest.skip("MLflow tracking tests need the `tracking` extra", allow_module_level=True)

MLFLOW = Path(sys.executable).with_name("mlflow")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def start_mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """`start(backend_store_uri) -> URL` of a fresh server; every server is stopped at session end."""
    procs: list[subprocess.Popen] = []

    def start(backend: str) -> str:
        d = tmp_path_factory.mktemp("mlflow")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [
            str(MLFLOW),
            "server",
            "--backend-store-uri",
            backend,
            "--artifacts-destination",
            str(d / "art"),
        ]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        log = open(d / "server.log", "wb")  # noqa: SIM115 - the server writes it until teardown
        proc = subprocess.Popen(
            cmd, cwd=d, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        procs.append(proc)
        deadline = time.monotonic() + 120
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(d / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        return url

    yield start
    for proc in procs:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (its workers too), SIGKILL what is left after 20 s."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def mlflow_sqlite(start_mlflow, tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of an `mlflow server` whose backend store is a SQLite file of its own."""
    return start_mlflow(f"sqlite:///{tmp_path_factory.mktemp('mlflow-store') / 'mlflow.db'}")


@pytest.fixture(scope="session")
def mlflow_pg_database(pg_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for MLflow's own tables (never the registry's), dropped afterwards."""
    import sqlalchemy as sa

    name = f"mlflow_{uuid.uuid4().hex[:12]}"
    eng = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    yield url
    with eng.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


@pytest.fixture(scope="session")
def mlflow_pg(start_mlflow, mlflow_pg_database: str) -> str:
    """URL of an `mlflow server` whose backend store is that PostgreSQL database."""
    return start_mlflow(mlflow_pg_database)
