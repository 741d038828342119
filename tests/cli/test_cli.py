"""``frontdoor.cli.main([...])``: exit codes and output, on a SQLite database in a temp folder."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import Engine, create_engine, func, select

from frontdoor import models
from frontdoor.cli import main
from frontdoor.csvformat import FILE_NAMES, FILE_SPECS
from tests.conftest import REPO
from tests.factories import TEAM_ROW, write_csv

NOW = "2027-01-07T12:00:00Z"


@pytest.fixture(name="home", autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean environment: data in tmp_path/data, the shipped rules, no .env file."""
    monkeypatch.chdir(tmp_path)  # settings read .env from the working directory
    for name in (
        "FRONTDOOR_DATABASE_URL",
        "FRONTDOOR_TIMEZONE",
        "FRONTDOOR_LOG_LEVEL",
        "FRONTDOOR_LOG_JSON",
        "FRONTDOOR_IMPORT_BATCH_SIZE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FRONTDOOR_RULES_DIR", str(REPO / "rules"))
    monkeypatch.setenv("COLUMNS", "1000")  # keep rich from wrapping long paths in messages
    yield tmp_path
    structlog.reset_defaults()  # main() pointed structlog at this test's captured stderr


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI; return (exit code, stdout, stderr) of this call only."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def database(home: Path) -> Engine:
    return create_engine(f"sqlite:///{home / 'data' / 'frontdoor.sqlite3'}")


def count(home: Path, model: type[Any]) -> int:
    engine = database(home)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


def write_kind(folder: Path, kind: str, rows: Sequence[Mapping[str, object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_csv(folder / FILE_NAMES[kind], rows, FILE_SPECS[kind].column_names)


@pytest.fixture(name="migrated")
def _migrated(home: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A migrated database holding team DAT-A."""
    assert run(capsys, "migrate")[0] == 0
    teams = write_kind(home / "in", "teams", [TEAM_ROW])
    assert run(capsys, "import", "teams", str(teams))[0] == 0
    return home


# --- migrate ----------------------------------------------------------------------------------


def test_migrate_creates_the_schema_and_a_second_migrate_is_a_no_op(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "migrate")
    assert code == 0
    assert "migrated from empty to" in out
    assert count(home, models.Contact) == 0  # the table exists

    code, out, _ = run(capsys, "migrate")
    assert code == 0
    assert "already at revision" in out


@pytest.mark.parametrize(
    "argv",
    [("scan", "--now", NOW), ("scan",), ("import", "teams", "teams.csv")],
    ids=["scan-now", "scan-live", "import"],
)
def test_a_command_on_an_unmigrated_database_exits_3_and_says_to_run_migrate(
    home: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    write_csv(home / "teams.csv", [TEAM_ROW], FILE_SPECS["teams"].column_names)

    code, out, err = run(capsys, *argv)

    assert code == 3
    assert "run `frontdoor migrate`" in err
    assert "no frontdoor schema" in err
    assert out == ""


# --- check-config -----------------------------------------------------------------------------


def test_check_config_accepts_the_shipped_rules(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "check-config")

    assert code == 0
    assert "rules: OK, 5 rule(s)" in out
    for rule_id in (
        "contact-outcome-24h",
        "referral-decision-1wd",
        "strategy-partners",
        "icpc-15wd",
        "assessment-45wd",
    ):
        assert f"{rule_id}:" in out
    assert "time zone Europe/London" in out


TIMESCALE = """
[[rule]]
id = "my-rule"
kind = "timescale"
record = "contact"
clock = "clock-hours"
limit = 24
"""

ATTENDANCE = """
[[rule]]
id = "my-rule"
kind = "attendance"
record = "strategy_discussion"
required_agencies = ["police", "health"]
"""

BAD_RULES = [
    (TIMESCALE + 'colour = "red"\n', ["colour", "unknown key"]),
    (TIMESCALE.replace("limit = 24", "limit = -1"), ["limit"]),
    (TIMESCALE.replace("limit = 24", "limit = 0"), ["limit"]),
    (TIMESCALE.replace("limit = 24", 'limit = "24h"'), ["limit"]),
    (TIMESCALE.replace('clock = "clock-hours"', 'clock = "fortnights"'), ["clock"]),
    (TIMESCALE.replace('record = "contact"', 'record = "child"'), ["record"]),
    (ATTENDANCE.replace('"health"]', '"social_work"]'), ["required_agencies"]),
    (ATTENDANCE.replace('record = "strategy_discussion"', 'record = "contact"'), ["record"]),
]


@pytest.mark.parametrize(
    ("text", "words"),
    BAD_RULES,
    ids=[
        "unknown-key",
        "negative-limit",
        "zero-limit",
        "limit-with-unit",
        "unknown-clock",
        "unknown-record",
        "unknown-agency",
        "attendance-on-contacts",
    ],
)
def test_check_config_exits_2_naming_the_file_and_rule_for_an_invalid_rule(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    words: list[str],
) -> None:
    rules = home / "rules"
    rules.mkdir()
    (rules / "local.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("FRONTDOOR_RULES_DIR", str(rules))

    code, out, err = run(capsys, "check-config")

    assert code == 2
    assert str(rules / "local.toml") in err
    assert "'my-rule'" in err
    for word in words:
        assert word in err
    assert "rules: OK" not in out


def test_check_config_exits_2_for_a_rule_id_defined_in_two_files(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = home / "rules"
    rules.mkdir()
    (rules / "a.toml").write_text(TIMESCALE, encoding="utf-8")
    (rules / "b.toml").write_text(TIMESCALE.replace("limit = 24", "limit = 48"), encoding="utf-8")
    monkeypatch.setenv("FRONTDOOR_RULES_DIR", str(rules))

    code, _, err = run(capsys, "check-config")

    assert code == 2
    assert f"{rules / 'b.toml'}: rule 'my-rule' is already defined in {rules / 'a.toml'}" in err


def test_an_invalid_time_zone_exits_2_naming_the_variable(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_TIMEZONE", "Europe/Lndon")

    code, out, err = run(capsys, "check-config")

    assert code == 2
    assert "FRONTDOOR_TIMEZONE" in err
    assert "Europe/Lndon" in err
    assert out == ""


# --- import -----------------------------------------------------------------------------------

CONTACTS = [
    {
        "contact_id": "C1",
        "child_id": "CH1",
        "received_at": "2027-01-04T10:00:00Z",
        "team_id": "DAT-A",
    },
    {
        "contact_id": "C2",
        "child_id": "CH2",
        "received_at": "2027-01-04T10:00:00Z",
        "team_id": "DAT-B",
    },
    {
        "contact_id": "C3",
        "child_id": "CH3",
        "received_at": "2027-01-04T10:00:00Z",
        "team_id": "DAT-A",
        "outcome_at": "soon",
    },
    {
        "contact_id": "C4",
        "child_id": "CH4",
        "received_at": "2027-01-04T10:00:00Z",
        "team_id": "DAT-A",
    },
]


def test_import_with_a_bad_row_exits_1_says_partial_import_and_writes_rejects_next_to_the_file(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_kind(migrated / "in", "contacts", CONTACTS)

    code, out, err = run(capsys, "import", "contacts", str(path))

    assert code == 1
    assert "contacts.csv (contacts): read 4, inserted 2, updated 0, unchanged 0, rejected 2" in out
    assert "partial import" in out
    rejects = migrated / "in" / "contacts.rejects.csv"
    assert str(rejects) in err
    with rejects.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["row"], r["record_id"], r["column"]) for r in rows] == [
        ("3", "C2", "team_id"),
        ("4", "C3", "outcome_at"),
    ]
    assert count(migrated, models.Contact) == 2


def test_import_with_report_dir_writes_the_rejects_file_there_and_not_next_to_the_file(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_kind(migrated / "in", "contacts", CONTACTS)
    reports = migrated / "reports"

    code, _, _ = run(capsys, "import", "contacts", str(path), "--report-dir", str(reports))

    assert code == 1
    assert (reports / "contacts.rejects.csv").is_file()
    assert not (migrated / "in" / "contacts.rejects.csv").exists()


def test_a_clean_reimport_exits_0_and_removes_the_stale_rejects_file(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_kind(migrated / "in", "contacts", CONTACTS)
    assert run(capsys, "import", "contacts", str(path))[0] == 1
    write_kind(migrated / "in", "contacts", [CONTACTS[0], CONTACTS[3]])

    code, out, _ = run(capsys, "import", "contacts", str(path))

    assert code == 0
    assert "read 2, inserted 0, updated 0, unchanged 2, rejected 0" in out
    assert "partial" not in out
    assert not (migrated / "in" / "contacts.rejects.csv").exists()


def test_import_of_a_file_missing_a_required_column_exits_2_and_imports_nothing(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(migrated / "contacts.csv", CONTACTS[:1], ["contact_id", "child_id", "team_id"])

    code, _, err = run(capsys, "import", "contacts", str(path))

    assert code == 2
    assert "received_at" in err
    assert "contacts.csv" in err
    assert count(migrated, models.Contact) == 0


@pytest.mark.parametrize("terminal", ["0", "1"], ids=["piped", "terminal"])
@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.csv", "no such file"), ("folder", "is a folder, not a CSV file")],
    ids=["missing", "folder"],
)
def test_import_of_a_missing_file_or_a_folder_exits_2_with_a_clear_message(
    migrated: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    terminal: str,
    name: str,
    message: str,
) -> None:
    """On a terminal the progress bar needs the file's size: that must not raise either."""
    monkeypatch.setenv("TTY_COMPATIBLE", terminal)
    (migrated / "folder").mkdir()
    path = migrated / name

    code, out, err = run(capsys, "import", "contacts", str(path))

    assert code == 2
    assert f"frontdoor: error: {path}: {message}" in err
    assert "Traceback" not in err
    assert out == ""


def test_import_on_a_terminal_shows_progress_and_imports(
    migrated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    path = write_kind(migrated / "in", "contacts", [CONTACTS[0], CONTACTS[3]])

    code, out, _ = run(capsys, "import", "contacts", str(path))

    assert code == 0
    assert "read 2, inserted 2, updated 0, unchanged 0, rejected 0" in out
    assert count(migrated, models.Contact) == 2


def test_import_of_an_unreadable_file_exits_2_with_a_clear_message(
    migrated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_kind(migrated / "in", "contacts", CONTACTS)
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)  # chmod 0 does not stop root

    code, _, err = run(capsys, "import", "contacts", str(path))

    assert code == 2
    assert f"frontdoor: error: {path}: cannot open: Permission denied" in err


def test_import_stopped_by_an_encoding_error_exits_2_after_committing_and_listing_what_came_before(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_kind(migrated / "in", "contacts", CONTACTS)
    data = path.read_bytes() + b"C5,CH5,2027-01-04T10:00:00Z,DAT-A,,,Caf\xe9,\n"
    path.write_bytes(data)

    code, out, err = run(capsys, "import", "contacts", str(path))

    assert code == 2
    assert (
        "contacts.csv (contacts): read 4, inserted 2, updated 0, unchanged 0, rejected 2"
        " - stopped early, partial import"
    ) in out
    offset = data.index(b"Caf") + 3
    assert (
        f"frontdoor: error: {path}: not valid UTF-8 in row 6 (byte offset {offset}); "
        "rows 2..5 were processed (imported or rejected), nothing after"
    ) in err
    rejects = migrated / "in" / "contacts.rejects.csv"
    assert f"rejected rows are listed in {rejects}" in err
    with rejects.open(encoding="utf-8", newline="") as handle:
        assert [r["row"] for r in csv.DictReader(handle)] == ["3", "4"]
    assert count(migrated, models.Contact) == 2


def test_import_prints_the_first_ten_rejects_in_row_order_and_shows_no_free_text(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    free_text = "Mum says Jane Smith hit him"
    rows = [{**CONTACTS[0], "contact_id": f"C{n}", "received_at": free_text} for n in range(12)]
    rows.append({**CONTACTS[0], "contact_id": free_text, "team_id": "DAT-X"})
    rows.append(CONTACTS[0])
    rows.append({**CONTACTS[0], "outcome_at": "2027-01-05T10:00:00Z"})  # a duplicate of C1
    path = write_kind(migrated / "in", "contacts", rows)

    code, out, err = run(capsys, "import", "contacts", str(path))
    again = run(capsys, "import", "contacts", str(path))

    assert code == again[0] == 1
    assert "read 15, inserted 1, updated 0, unchanged 0, rejected 14" in out
    assert "read 15, inserted 0, updated 0, unchanged 1, rejected 14" in again[1]
    listed = [line for line in err.splitlines() if line.startswith("  contacts.csv row ")]
    assert listed[0] == (
        "  contacts.csv row 2, column received_at: malformed datetime (27 characters, not shown):"
        " expected ISO 8601 date and time"
    )
    assert [line.split(",")[0] for line in listed] == [
        f"  contacts.csv row {n}" for n in range(2, 12)
    ]
    assert "  ... and 4 more" in err
    rejects = migrated / "in" / "contacts.rejects.csv"
    written = rejects.read_text(encoding="utf-8")
    assert "duplicate id: row 15 already carries it" in written
    for text in (out, err, written, again[1], again[2]):
        assert "Jane" not in text


ALL_FILES: Mapping[str, Sequence[Mapping[str, object]]] = {
    "teams": [TEAM_ROW],
    "contacts": [CONTACTS[0], CONTACTS[3]],
    "referrals": [
        {
            "referral_id": "R1",
            "child_id": "CH1",
            "received_at": "2027-01-04T12:00Z",
            "team_id": "DAT-A",
            "contact_id": "C1",
        }
    ],
    "strategy-discussions": [
        {
            "discussion_id": "D1",
            "child_id": "CH1",
            "held_at": "2027-01-05T10:00Z",
            "team_id": "DAT-A",
            "referral_id": "R1",
            "s47_initiated": "Y",
        }
    ],
    "strategy-attendance": [
        {"discussion_id": "D1", "agency": "local_authority", "attended": "Y"},
        {"discussion_id": "D1", "agency": "police", "attended": "N"},
    ],
    "s47": [
        {
            "s47_id": "S1",
            "child_id": "CH1",
            "team_id": "DAT-A",
            "discussion_id": "D1",
            "start_date": "05/01/2027",
        }
    ],
    "assessments": [
        {
            "assessment_id": "A1",
            "child_id": "CH1",
            "team_id": "DAT-A",
            "referral_id": "R1",
            "start_date": "2027-01-05",
        }
    ],
}

MODELS: Mapping[str, type[Any]] = {
    "teams": models.Team,
    "contacts": models.Contact,
    "referrals": models.Referral,
    "strategy-discussions": models.StrategyDiscussion,
    "strategy-attendance": models.StrategyAttendance,
    "s47": models.S47Enquiry,
    "assessments": models.Assessment,
}


def test_import_all_imports_every_file_of_a_folder_in_dependency_order(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "migrate")[0] == 0
    folder = home / "export"
    for kind, rows in ALL_FILES.items():
        write_kind(folder, kind, rows)

    code, out, _ = run(capsys, "import", "all", str(folder))

    assert code == 0
    assert len(out.strip().splitlines()) == 7
    assert "partial" not in out
    for kind, rows in ALL_FILES.items():
        assert count(home, MODELS[kind]) == len(rows), kind
    assert not list(folder.glob("*.rejects.csv"))


def test_import_all_skips_missing_files_and_refuses_a_folder_with_none(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "migrate")[0] == 0
    folder = home / "export"
    write_kind(folder, "teams", ALL_FILES["teams"])
    write_kind(folder, "contacts", ALL_FILES["contacts"])
    (home / "empty").mkdir()

    code, _, err = run(capsys, "import", "all", str(folder))
    empty_code, _, empty_err = run(capsys, "import", "all", str(home / "empty"))

    assert code == 0
    assert "skipped referrals" in err
    assert count(home, models.Contact) == 2
    assert empty_code == 2
    assert "none of" in empty_err


def test_generated_data_imports_without_a_single_reject(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "migrate")[0] == 0
    folder = home / "generated"
    assert (
        run(
            capsys,
            "generate",
            "--out",
            str(folder),
            "--start",
            "2027-03-22",
            "--days",
            "14",
            "--contacts-per-day",
            "20",
        )[0]
        == 0
    )

    code, out, _ = run(capsys, "import", "all", str(folder))

    assert code == 0, out
    assert "rejected 0" in out
    assert "partial" not in out
    with (folder / "contacts.csv").open(encoding="utf-8", newline="") as handle:
        contacts = sum(1 for _ in csv.DictReader(handle))
    assert contacts > 0
    assert count(home, models.Contact) == contacts


# --- scan -------------------------------------------------------------------------------------

SCAN_FILES: Mapping[str, Sequence[Mapping[str, object]]] = {
    "teams": [TEAM_ROW],
    "contacts": [
        {
            "contact_id": cid,
            "child_id": f"CH-{cid}",
            "received_at": "2027-01-04T10:00:00Z",
            "team_id": "DAT-A",
        }
        for cid in ("C2", "C10")
    ]
    + [
        {
            "contact_id": "C1",
            "child_id": "CH-C1",
            "received_at": "2027-01-04T10:00:00Z",
            "team_id": "DAT-A",
            "outcome_at": "2027-01-04T12:00:00Z",
        },
    ],
    # Monday 4 January 2027: 1 working day -> end of Tuesday 5 January (GMT).
    "referrals": [
        {
            "referral_id": "R1",
            "child_id": "CH-R1",
            "received_at": "2027-01-04T10:00Z",
            "team_id": "DAT-A",
        }
    ],
    "strategy-discussions": [
        {
            "discussion_id": "D1",
            "child_id": "CH-D1",
            "held_at": "2027-01-06T10:00:00Z",
            "team_id": "DAT-A",
        }
    ],
    "strategy-attendance": [
        {"discussion_id": "D1", "agency": "local_authority", "attended": "Y"},
        {"discussion_id": "D1", "agency": "police", "attended": "N"},
    ],
}


@pytest.fixture(name="scannable")
def _scannable(home: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run(capsys, "migrate")[0] == 0
    folder = home / "export"
    for kind, rows in SCAN_FILES.items():
        write_kind(folder, kind, rows)
    assert run(capsys, "import", "all", str(folder))[0] == 0
    return home


def test_scan_json_prints_one_document_sorted_by_rule_then_record(
    scannable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "scan", "--json", "--now", NOW)

    assert code == 0
    doc = json.loads(out)  # the whole of stdout is one JSON document
    assert set(doc) == {"now", "findings"}
    assert doc["now"] == "2027-01-07T12:00:00Z"
    assert [(f["rule"], f["record_id"]) for f in doc["findings"]] == [
        ("contact-outcome-24h", "C10"),
        ("contact-outcome-24h", "C2"),
        ("referral-decision-1wd", "R1"),
        ("strategy-partners", "D1"),
    ]
    keys = {
        "rule",
        "record_id",
        "team_id",
        "child_id",
        "started_at",
        "due_at",
        "overdue_hours",
        "missing_agencies",
    }
    assert all(set(f) == keys for f in doc["findings"])
    c10, _, r1, d1 = doc["findings"]
    assert c10 == {
        "rule": "contact-outcome-24h",
        "record_id": "C10",
        "team_id": "DAT-A",
        "child_id": "CH-C10",
        "started_at": "2027-01-04T10:00:00Z",
        "due_at": "2027-01-05T10:00:00Z",
        "overdue_hours": 50.0,
        "missing_agencies": None,
    }
    assert r1["due_at"] == "2027-01-05T23:59:59.999999Z"
    assert r1["overdue_hours"] == 36.0
    assert r1["missing_agencies"] is None
    assert d1["due_at"] is None
    assert d1["overdue_hours"] is None
    assert d1["missing_agencies"] == ["health", "police"]
    assert d1["started_at"] == "2027-01-06T10:00:00Z"


def test_a_replayed_scan_records_no_breaches(
    scannable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "scan", "--now", NOW)

    assert code == 0
    assert "4 finding(s)" in out
    assert "Recorded" not in out
    assert count(scannable, models.Breach) == 0


def test_scan_now_without_an_offset_is_refused(
    scannable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["scan", "--now", "2027-01-07T12:00:00"])

    assert exited.value.code == 2
    assert "--now needs a UTC offset" in capsys.readouterr().err


def test_a_live_scan_records_breaches_once(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Records from 2020 are long overdue against the real clock.
    assert run(capsys, "migrate")[0] == 0
    folder = home / "export"
    write_kind(folder, "teams", [TEAM_ROW])
    write_kind(
        folder,
        "contacts",
        [
            {
                "contact_id": "OLD1",
                "child_id": "CH1",
                "received_at": "2020-01-06T10:00:00Z",
                "team_id": "DAT-A",
            },
            {
                "contact_id": "OLD2",
                "child_id": "CH2",
                "received_at": "2020-01-06T10:00:00Z",
                "team_id": "DAT-A",
                "outcome_at": "2020-01-06T11:00:00Z",
            },
        ],
    )
    write_kind(
        folder,
        "referrals",
        [
            {
                "referral_id": "R-OLD",
                "child_id": "CH1",
                "received_at": "2020-01-06T10:00:00Z",
                "team_id": "DAT-A",
            },
        ],
    )
    assert run(capsys, "import", "all", str(folder))[0] == 0

    code, out, _ = run(capsys, "scan")
    first = count(home, models.Breach)
    again_code, again_out, _ = run(capsys, "scan")

    assert code == 0
    assert "Recorded 2 new breach(es)" in out
    assert first == 2  # OLD1 and R-OLD; OLD2 was met
    assert again_code == 0
    assert "Recorded 0 new breach(es)" in again_out
    assert count(home, models.Breach) == 2


def test_an_incremental_scan_with_now_is_refused_and_records_nothing(
    scannable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "scan", "--incremental", "--now", NOW)

    assert code != 0
    assert "--incremental" in err
    assert "--now" in err
    assert out == ""
    assert count(scannable, models.Breach) == 0
