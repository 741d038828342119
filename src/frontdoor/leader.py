"""One worker at a time per job (PostgreSQL advisory locks).

Several ``frontdoor run`` processes may share one PostgreSQL database (two hosts for
resilience, or a rolling upgrade). Their results are already safe without this module: the
outbox is unique per recipient, kind and slot, and delivery claims the rows it sends. What
this adds is that the scans, the digest pass and the weekly report run in one process at a
time instead of being computed twice: :func:`exclusive` takes a session-level advisory lock
named after the job on a connection of its own and holds it while the job runs. A process
that does not get the lock skips the run (the other one is doing it) and records no
heartbeat for it.

SQLite serialises writers itself and is meant for one worker: there the lock is always
granted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text


class OtherWorker(Exception):  # noqa: N818 - a signal, not an error
    """Another process holds this job's lock: skip the run, record nothing."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for job ``name``."""
    digest = hashlib.sha256(f"frontdoor:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """Yield True while this process holds job ``name``'s lock, False when another one does
    (then nothing is held). The lock lives on a dedicated autocommit connection, so the
    job's own transactions are unaffected, and it is released when the block ends or the
    process dies (the server drops a dead session's locks)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = lock_key(name)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
