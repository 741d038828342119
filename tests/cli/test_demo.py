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
    printed = [Path(p) for p in re.findall(r"^\s+(/\S+\.(?:eml|html|txt|xlsx))$", out, flags=re.M)]
    mail = (tmp_path / "demo-output" / "mail").resolve()
    report = (tmp_path / "demo-output" / "report").resolve()
    paths = [p for p in printed if mail in p.parents]
    reports = [p for p in printed if report in p.parents]
    assert paths
    assert all(p.is_file() for p in printed)
    assert len(paths) + len(reports) == len(printed)
    # The weekly report of each service manager, and over all teams: three files each.
    folders = {p.parent.name for p in reports}
    assert "all-teams" in folders
    assert len(folders) >= 2
    assert sorted(p.name for p in reports if p.parent.name == "all-teams") == [
        "report.html",
        "report.txt",
        "report.xlsx",
    ]
    assert "7. The weekly report for " in out
    # Step 8: a signed dashboard link, and every digest item links to its web form.
    assert "8. Web app for managers' decisions" in out
    assert re.search(r"http://127\.0\.0\.1:8080/\?t=v1\.\S+", out)
    backlog = [p for p in paths if p.parent.name == "outbox" and p.suffix == ".eml"]
    assert "Record a decision or rationale" in backlog[0].read_text(encoding="utf-8")
    escalations = [p for p in paths if "-escalation-" in p.name and p.suffix == ".eml"]
    assert backlog
    assert escalations
    first = message_from_bytes(backlog[0].read_bytes(), policy=policy.default)
    assert str(first["Subject"]).startswith("frontdoor: backlog at go-live")
