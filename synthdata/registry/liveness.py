"""Is a `running` run still alive? Its pid and host plus a heartbeat the running process refreshes.

Why both: on the same host the pid answers at once (a SIGKILLed run is `stale` immediately); from
another host (a shared PostgreSQL registry) only the heartbeat can tell, so a run whose heartbeat is
older than `stale_after_s()` is stale too. A recycled pid cannot keep a dead run alive for long,
because the recycled process does not refresh the heartbeat.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

HOST = socket.gethostname()
HEARTBEAT_ENV = "SYNTHDATA_HEARTBEAT_S"
STALE_AFTER_ENV = "SYNTHDATA_STALE_AFTER_S"
DEFAULT_HEARTBEAT_S = 30.0


def heartbeat_s() -> float:
    return float(os.environ.get(HEARTBEAT_ENV, DEFAULT_HEARTBEAT_S))


def stale_after_s() -> float:
    """A heartbeat older than this marks a run stale (default: four missed heartbeats)."""
    return float(os.environ.get(STALE_AFTER_ENV, 4 * heartbeat_s()))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Liveness:
    status: str
    pid: int | None
    host: str | None
    heartbeat_at: datetime  # last sign of life (created_at for runs older than heartbeats)

    def age_s(self, now: datetime | None = None) -> float:
        now = now or datetime.now(UTC)
        return (now - self.heartbeat_at).total_seconds()

    def stale(self, now: datetime | None = None) -> bool:
        if self.status != "running":
            return False
        if self.host == HOST and self.pid is not None and not pid_alive(self.pid):
            return True
        return self.age_s(now) > stale_after_s()

    def describe(self) -> str:
        who = f"pid {self.pid} on {self.host}" if self.pid is not None else "unknown process"
        return f"{who}, last heartbeat {self.age_s():.0f} s ago"


class Heartbeat:
    """Refresh a run's heartbeat from a daemon thread while the run is in progress."""

    def __init__(self, beat: Callable[[], object], interval_s: float | None = None) -> None:
        self._beat = beat
        self._interval = interval_s if interval_s is not None else heartbeat_s()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="synthdata-heartbeat", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            with contextlib.suppress(Exception):  # a busy registry must never kill the run itself
                self._beat()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        self._thread.start()
        try:
            yield
        finally:
            self._stop.set()
            self._thread.join(timeout=5)
