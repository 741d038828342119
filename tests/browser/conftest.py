"""Browser fixtures: Debian's Chromium driven by Playwright, and the web app served by
uvicorn in a thread on a free port.

One browser per test module: Playwright keeps an event loop running while it is open, which
``asyncio.run`` in later, unrelated tests would trip over. Without a Chromium the browser
tests are skipped with the reason, except under CI (``CI=true``), where they fail:
``.ci/run`` installs Chromium so that CI always runs them.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from tests.smtp_server import free_port

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    """The Chromium executable on PATH (FRONTDOOR_TEST_CHROMIUM overrides)."""
    found = os.environ.get("FRONTDOOR_TEST_CHROMIUM")
    if found:
        return found
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(name="browser", scope="module")
def _browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        reason = "no Chromium on PATH (apt-get install chromium); the browser tests need one"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the browser tests)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class ServedApp:
    """An ASGI app served on 127.0.0.1 in a daemon thread until :meth:`stop`."""

    def __init__(self, asgi: Any, port: int) -> None:
        config = uvicorn.Config(
            asgi, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web app did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(name="port")
def _port() -> int:
    return free_port()
