"""`frontdoor run`, the worker, killed with SIGKILL while it sends, then restarted.

At start the worker catches up the latest digest slot (this database has never had a digest
pass), so it sends one go-live summary to each of three managers. The SMTP server kills it
once it has message N (after DATA, before replying 250). The restarted worker must deliver
every message; only message N may arrive twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from frontdoor import db
from tests.cli.test_digest_smtp import OUT, _database, _env, _received_ids
from tests.conftest import REPO
from tests.smtp_server import Cert, Security, Server


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "frontdoor", "run"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


@pytest.mark.parametrize("kill_at", [1, 2, 3])
def test_a_worker_killed_while_sending_loses_no_digest(
    start_server: Callable[[Security], Server], cert: Cert, tmp_path: Path, kill_at: int
) -> None:
    server = start_server("starttls")
    url = _database(tmp_path)
    env = {**_env(url, server.port, cert), "FRONTDOOR_DELIVERY_CLAIM_SECONDS": "1"}
    log = tmp_path / "worker.log"
    first = _worker(env, log)

    def kill(count: int) -> None:
        if count == kill_at and first.poll() is None:
            os.kill(first.pid, signal.SIGKILL)

    server.handler.on_data = kill
    assert first.wait(timeout=60) == -signal.SIGKILL
    server.handler.on_data = None
    assert len(server.handler.received) == kill_at

    time.sleep(1.1)  # the dead worker's claim (1 s here) expires
    second = _worker(env, log)
    try:
        deadline = time.monotonic() + 60
        while not _all_sent(url) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0, log.read_text()
    received = _received_ids(server)
    assert len(received) == 3, log.read_text()  # every manager's message arrived
    ids_in_order = list(dict.fromkeys(_received_ids_in_order(server)))
    twice = [mid for mid, n in received.items() if n > 1]
    assert twice == [ids_in_order[kill_at - 1]]  # only the interrupted one, once more
    assert max(received.values()) == 2


def _all_sent(url: str) -> bool:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            sent = conn.execute(select(OUT.sent_at)).scalars().all()
    finally:
        engine.dispose()
    return len(sent) == 3 and all(s is not None for s in sent)


def _received_ids_in_order(server: Server) -> list[str]:
    from email import message_from_bytes, policy

    return [
        str(message_from_bytes(r.content, policy=policy.default)["Message-ID"])
        for r in server.handler.received
    ]
