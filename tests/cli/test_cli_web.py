"""``frontdoor web`` through ``cli.main``: it refuses to start without a secret key, and it
runs uvicorn without an access log (which would record link tokens)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from starlette.applications import Starlette

from frontdoor.cli import main
from tests.conftest import REPO

KEY = "cli-test-secret-key-0123456789abcdef-0123"


@pytest.fixture(name="home", autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean environment: no FRONTDOOR_* variables but the data and rules folders."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("FRONTDOOR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FRONTDOOR_RULES_DIR", str(REPO / "rules"))
    monkeypatch.setenv("COLUMNS", "1000")
    yield tmp_path
    structlog.reset_defaults()


@pytest.fixture(name="served")
def _served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """Calls to uvicorn.run, recorded instead of serving."""
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_web_without_a_secret_key_exits_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str], served: list[tuple[Any, dict[str, Any]]]
) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["web"]) == 2
    err = capsys.readouterr().err
    assert "FRONTDOOR_SECRET_KEY is not set" in err
    assert served == []


def test_web_runs_uvicorn_without_an_access_log_and_prints_the_address(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    served: list[tuple[Any, dict[str, Any]]],
) -> None:
    monkeypatch.setenv("FRONTDOOR_SECRET_KEY", KEY)
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["web", "--host", "0.0.0.0", "--port", "9090"]) == 0
    assert "serving http://0.0.0.0:9090/" in capsys.readouterr().out
    [(app, kw)] = served
    assert isinstance(app, Starlette)
    assert kw["host"] == "0.0.0.0"
    assert kw["port"] == 9090
    assert kw["access_log"] is False
    assert kw["log_config"] is None


def test_web_defaults_to_the_loopback_address(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    served: list[tuple[Any, dict[str, Any]]],
) -> None:
    monkeypatch.setenv("FRONTDOOR_SECRET_KEY", KEY)
    assert main(["migrate"]) == 0
    assert main(["web"]) == 0
    assert "serving http://127.0.0.1:8080/" in capsys.readouterr().out
    assert (served[0][1]["host"], served[0][1]["port"]) == ("127.0.0.1", 8080)


def test_web_refuses_a_bad_port_and_an_unmigrated_database(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    served: list[tuple[Any, dict[str, Any]]],
) -> None:
    monkeypatch.setenv("FRONTDOOR_SECRET_KEY", KEY)
    assert main(["web"]) == 3  # schema not current: run `frontdoor migrate`
    assert main(["web", "--port", "70000"]) == 2
    assert "--port 70000" in capsys.readouterr().err
    assert served == []
