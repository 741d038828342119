"""``frontdoor demo``: the whole pipeline from nothing, including the e-mails it would send."""

from __future__ import annotations

import os
import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import structlog

from frontdoor.cli import main
from tests.conftest import REPO


def test_demo_scans_and_leaves_its_e_mails_on_disk_with_their_paths_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("FRONTDOOR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRONTDOOR_RULES_DIR", str(REPO / "rules"))
    try:
        code = main(["demo"])
    finally:
        structlog.reset_defaults()
    out = capsys.readouterr().out
    assert code == 0
    assert "Live scan recorded" in out
    paths = [Path(p) for p in re.findall(r"^\s+(/\S+\.(?:eml|html))$", out, flags=re.M)]
    mail = (tmp_path / "demo-output" / "mail").resolve()
    assert paths
    assert all(p.is_file() and mail in p.parents for p in paths)
    backlog = [p for p in paths if p.parent.name == "outbox" and p.suffix == ".eml"]
    escalations = [p for p in paths if "-escalation-" in p.name and p.suffix == ".eml"]
    assert backlog
    assert escalations
    first = message_from_bytes(backlog[0].read_bytes(), policy=policy.default)
    assert str(first["Subject"]).startswith("frontdoor: backlog at go-live")
