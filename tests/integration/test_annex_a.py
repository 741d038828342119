"""Annex A workbook import on both engines: samples, messy values, rejects, refused files.

Expected counts were read by hand from the samples in ../shared/samples with openpyxl:
liia_Annex_A_synthetic.xlsx has 5 rows in List 1, 6 in List 3, 5 in List 4 and 5 in List 5,
all dated 16 September 2020 except List 4; no List 4 child appears in List 3, so no assessment
can be linked to a referral. The blank Ofsted template has header rows only, except 5 example
rows in List_3 whose sources are free text ("School", "Health", "Police").
"""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, select

from frontdoor.annex_a import ANNEX_A_OUTCOME, AnnexAReport, find_sheet, import_annex_a
from frontdoor.annex_a_values import BadValue, clean_bool, clean_date, clean_source
from frontdoor.bootstrap import App, build_app
from frontdoor.clock import WorkingCalendar
from frontdoor.commands_annex import annex_a
from frontdoor.errors import FileRefused, UsageError
from frontdoor.models import Assessment, Contact, Referral, S47Enquiry, table_of
from frontdoor.rules import load_rules
from frontdoor.scan import run_scan
from frontdoor.settings import Settings
from frontdoor.weekly_figures import week_figures
from frontdoor.weeks import week_of
from tests.conftest import REPO
from tests.factories import load, load_team

SAMPLES = REPO / "tests" / "samples"  # copies of ../shared/samples (provenance: README.md)
SYNTHETIC = SAMPLES / "liia_Annex_A_synthetic.xlsx"
TEMPLATE = SAMPLES / "ofsted_AnnexA_blank_template_Aug2019.xlsx"
RULES = load_rules(REPO / "rules")
CONTACT = table_of(Contact).c
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} not present")


@pytest.fixture(name="team")
def _team(engine: Engine, tmp_path: Path) -> Engine:
    load_team(engine, tmp_path)
    return engine


def counts(report: AnnexAReport) -> dict[str, tuple[int, int, int, int, int]]:
    return {
        k: (r.summary.read, r.summary.inserted, r.summary.updated, r.summary.unchanged,
            r.summary.rejected)
        for k, r in report.lists.items()
    }  # fmt: skip


def test_synthetic_sample_counts_cleaned_values_and_idempotent_reimport(team: Engine) -> None:
    first = import_annex_a(team, SYNTHETIC, team_id="DAT-A", now=NOW)
    assert counts(first) == {
        "contacts": (5, 5, 0, 0, 0),
        "referrals": (6, 6, 0, 0, 0),
        "assessments": (5, 0, 0, 0, 5),
        "s47": (5, 5, 0, 0, 0),
    }
    assert {(r.sheet, r.row) for r in first.rejects} == {("List 4", n) for n in range(2, 7)}
    assert all("no List 3 referral" in r.reason for r in first.rejects)
    assert first.lists["contacts"].defaulted["team_id"] == 5
    with team.connect() as conn:
        contact = conn.execute(
            select(table_of(Contact)).where(table_of(Contact).c.child_id == "9212044")
        ).one()
        referral = conn.execute(
            select(table_of(Referral)).where(table_of(Referral).c.child_id == "4653765")
        ).one()
        s47s = {s.child_id: s for s in conn.execute(select(table_of(S47Enquiry)))}
    # List 1 row 2: Date of Contact 16/09/2020, "q) 6: Police"; 00:00 BST is 23:00 UTC.
    assert contact.contact_id == "AA-9212044-C20200916-1"
    assert contact.received_at == datetime(2020, 9, 15, 23, 0, tzinfo=UTC)
    assert contact.source == "6"
    assert (contact.outcome, contact.outcome_at) == (ANNEX_A_OUTCOME, contact.received_at)
    assert contact.team_id == "DAT-A"
    # List 3 row 3: "j) 3D: Health services", Referral NFA? "No".
    assert (referral.referral_id, referral.source) == ("AA-4653765-R20200916-1", "3D")
    assert referral.decision == "Further action"
    assert referral.decision_at == referral.received_at
    # List 5 row 2: ICPC on 05/10/2020, "deemed unnecessary?" No; row 4: Yes and no date.
    assert s47s["11641472"].start_date == date(2020, 9, 16)
    assert (s47s["11641472"].icpc_date, s47s["11641472"].icpc_not_required) == (
        date(2020, 10, 5),
        False,
    )
    assert (s47s["10273003"].icpc_date, s47s["10273003"].icpc_not_required) == (None, True)
    assert s47s["10273003"].discussion_id is None

    again = import_annex_a(team, SYNTHETIC, team_id="DAT-A", now=LATER)
    assert counts(again) == {
        "contacts": (5, 0, 0, 5, 0),
        "referrals": (6, 0, 0, 6, 0),
        "assessments": (5, 0, 0, 0, 5),
        "s47": (5, 0, 0, 5, 0),
    }


def test_blank_template_imports_only_its_example_referrals(team: Engine) -> None:
    report = import_annex_a(team, TEMPLATE, team_id="DAT-A", now=NOW)
    assert not report.partial
    assert {k: r.sheet for k, r in report.lists.items()} == {
        "contacts": "List_1",
        "referrals": "List_3",
        "assessments": "List_4",
        "s47": "List_5",
    }
    assert all(r.header_row == 2 for r in report.lists.values())  # title row above
    assert counts(report)["contacts"] == (0, 0, 0, 0, 0)
    assert counts(report)["assessments"] == (0, 0, 0, 0, 0)
    assert counts(report)["s47"] == (0, 0, 0, 0, 0)
    # Free-text sources ("School") carry no code: kept, source left empty and counted.
    assert counts(report)["referrals"] == (5, 5, 0, 0, 0)
    assert report.lists["referrals"].defaulted["source (no known code; left empty)"] == 5


def _messy(path: Path) -> Path:
    """A workbook in the shapes real returns take: odd sheet names, title rows, serials."""
    book = openpyxl.Workbook()
    contacts = book.active
    assert contacts is not None
    contacts.title = "list1 - Contacts"
    contacts.append(["List 1: Contacts"])
    contacts.append(["Child Unique ID ", "Forename", "DATE OF CONTACT", "Contact  Source"])
    contacts.append([123.0, "Invented Name", 44090, "a) 1A: Individual"])  # row 3
    contacts.append(["C-2", "Invented Name", "15/11/2026", "Police"])  # row 4
    contacts.append(["C-3", "Invented Name", datetime(2026, 11, 20, 0, 0), "n/a"])  # row 5
    contacts.append(["C-4", "Invented Name", "31/02/2026", "q) 6: Police"])  # row 6
    contacts.append(["C-5", "Invented Name", "n/a", "q) 6: Police"])  # row 7
    contacts.append([None, None, None, None])
    referrals = book.create_sheet("List 3")
    referrals.append(["Child Unique ID", "Date of referral", "Referral Source", "Referral NFA?"])
    referrals.append(["C-2", "2026-11-16", "p1) 5D: LA services", "a) Yes"])
    assessments = book.create_sheet("LIST 4")
    assessments.append(
        [
            "Child Unique ID",
            "Continuous Assessment Start Date",
            "Continuous Assessment Date of Authorisation",
        ]
    )
    assessments.append(["C-2", "17/11/2026", None])
    s47 = book.create_sheet("List_5")
    s47.append(
        [
            "Child Unique ID",
            "Strategy discussion initiating Section 47 Enquiry Start Date",
            "Was an Initial Child Protection Conference deemed unnecessary?",
            "Date of Initial Child Protection Conference",
        ]
    )
    s47.append(["C-2", 46342, "b) No", "N/A"])  # 46342 = 2026-11-16
    book.save(path)
    return path


def test_messy_values_are_cleaned_and_bad_rows_rejected_by_place(
    team: Engine, tmp_path: Path
) -> None:
    path = _messy(tmp_path / "annex.xlsx")
    report = import_annex_a(team, path, team_id="DAT-A", now=NOW)
    assert counts(report) == {
        "contacts": (5, 3, 0, 0, 2),
        "referrals": (1, 1, 0, 0, 0),
        "assessments": (1, 1, 0, 0, 0),
        "s47": (1, 1, 0, 0, 0),
    }
    lines = [r.line() for r in report.rejects]
    assert lines == [
        "annex.xlsx, sheet 'list1 - Contacts', row 6, column C (DATE OF CONTACT): malformed "
        "date '31/02/2026': expected YYYY-MM-DD or DD/MM/YYYY",
        "annex.xlsx, sheet 'list1 - Contacts', row 7, column C (DATE OF CONTACT): required "
        "value is empty",
    ]
    assert not any("Invented" in line for line in lines)
    with team.connect() as conn:
        contacts = {c.contact_id: c for c in conn.execute(select(table_of(Contact)))}
        referral = conn.execute(select(table_of(Referral))).one()
        assessment = conn.execute(select(table_of(Assessment))).one()
        s47 = conn.execute(select(table_of(S47Enquiry))).one()
    # Serial 44090 is 2020-09-16 (as Excel and openpyxl show the sample's List 1 cell F2,
    # whose stored value is 44090; samples/README.md says 15th, one day off). 00:00 BST is
    # 23:00 UTC the day before.
    serial = contacts["AA-123-C20200916-1"]
    assert (serial.child_id, serial.source) == ("123", "1A")
    assert serial.received_at == datetime(2020, 9, 15, 23, 0, tzinfo=UTC)
    assert contacts["AA-C-2-C20261115-1"].source is None  # "Police": no code
    assert contacts["AA-C-3-C20261120-1"].received_at == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    assert (referral.source, referral.decision) == ("5D", "NFA")
    assert assessment.referral_id == referral.referral_id == "AA-C-2-R20261116-1"
    assert (assessment.start_date, assessment.authorised_date) == (date(2026, 11, 17), None)
    assert (s47.start_date, s47.icpc_date, s47.icpc_not_required) == (
        date(2026, 11, 16),
        None,
        False,
    )


def test_annex_a_contacts_never_breach_the_24_hour_rule(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    import_annex_a(team, SYNTHETIC, team_id="DAT-A", now=NOW)
    # Contacts from 15 and 20 November 2026: days past 24 hours at NOW, no outcome time.
    import_annex_a(team, _messy(tmp_path / "annex.xlsx"), team_id="DAT-A", now=LATER)
    result = run_scan(team, RULES, calendar, now=NOW + (LATER - NOW) * 2)
    rules_found = {f.rule for f in result.findings}
    assert "contact-outcome-24h" not in rules_found
    assert "referral-decision-1wd" not in rules_found


def test_workbook_without_lists_and_non_xlsx_files_are_refused(
    team: Engine, tmp_path: Path
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Summary"
    book.create_sheet("List 2")
    empty = tmp_path / "other.xlsx"
    book.save(empty)
    with pytest.raises(FileRefused, match="no Annex A List 1, 3, 4 or 5 sheet"):
        import_annex_a(team, empty, team_id="DAT-A", now=NOW)
    for name, content in (("notes.xlsx", b"not a zip file"), ("contacts.csv", b"a,b\n1,2\n")):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(FileRefused, match=rf"{name}: not a readable Excel \.xlsx workbook"):
            import_annex_a(team, path, team_id="DAT-A", now=NOW)
    with pytest.raises(UsageError, match="not in the teams table"):
        import_annex_a(team, SYNTHETIC, team_id="NOPE", now=NOW)


def test_sheet_without_header_row_is_reported(team: Engine, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "List 1"
    sheet.append(["Child Unique ID", "Something else"])
    path = tmp_path / "noheader.xlsx"
    book.save(path)
    report = import_annex_a(team, path, team_id="DAT-A", now=NOW)
    assert report.partial
    assert report.lists["contacts"].problem is not None
    assert report.lists["referrals"].sheet is None
    [reject] = report.rejects
    assert (reject.sheet, reject.column) == ("List 1", "header")


def _app(engine: Engine, default_team: str | None) -> App:
    return build_app(Settings(default_team=default_team, _env_file=None), engine=engine)


def test_command_exit_codes_and_report(
    team: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = argparse.Namespace(path=SYNTHETIC, team=None, report_dir=tmp_path)
    assert annex_a(_app(team, None), args, now=NOW) == 2
    assert "FRONTDOOR_DEFAULT_TEAM" in capsys.readouterr().err
    unknown = argparse.Namespace(path=SYNTHETIC, team="NOPE", report_dir=tmp_path)
    assert annex_a(_app(team, None), unknown, now=NOW) == 2
    assert "not in the teams table" in capsys.readouterr().err

    app = _app(team, "DAT-A")
    assert annex_a(app, args, now=NOW) == 1  # the 5 unlinkable assessments
    out = capsys.readouterr().out
    assert "List 1 contacts (sheet 'List 1', header row 1): read 5, mapped 5, inserted 5" in out
    assert "never contact-outcome-24h" in out
    assert "sheet 'List 4', row 2, column A (Child Unique ID): no List 3 referral" in out
    assert "Invented" not in out
    assert "Hazlett" not in out
    # Every reject is in the rejects file, one CSV row each, with no cell text.
    saved = tmp_path / "liia_Annex_A_synthetic.rejects.csv"
    assert f"every reject: {saved}" in out
    rows = list(csv.reader(saved.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["file", "sheet", "row", "column", "reason"]
    assert [(r[1], r[2]) for r in rows[1:]] == [("List 4", str(n)) for n in range(2, 7)]
    assert "Invented" not in saved.read_text(encoding="utf-8")
    template = argparse.Namespace(path=TEMPLATE, team="DAT-A", report_dir=tmp_path)
    assert annex_a(app, template, now=LATER) == 0
    assert not (tmp_path / "ofsted_AnnexA_blank_template_Aug2019.rejects.csv").exists()


@pytest.mark.parametrize(
    ("names", "list_no", "expected"),
    [
        (["List 10", "List 1"], 1, "List 1"),
        (["Front_Sheet", "LIST_3"], 3, "LIST_3"),
        (["list5 - S47 and ICPC"], 5, "list5 - S47 and ICPC"),
        (["List 2", "Summary"], 4, None),
    ],
)
def test_sheets_are_found_by_varying_names(
    names: list[str], list_no: int, expected: str | None
) -> None:
    assert find_sheet(names, list_no) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (44090, date(2020, 9, 16)),
        (44090.0, date(2020, 9, 16)),
        ("44090", date(2020, 9, 16)),
        ("15/09/2020", date(2020, 9, 15)),
        ("2020-09-15", date(2020, 9, 15)),
        (datetime(2020, 9, 15, 13, 5), date(2020, 9, 15)),
        (" N/A ", None),
        ("", None),
        (None, None),
    ],
)
def test_dates_are_cleaned(raw: object, expected: date | None) -> None:
    assert clean_date(raw) == expected


@pytest.mark.parametrize("raw", ["31/02/2020", "next week", 12.5, 10, True])
def test_unreadable_dates_raise_without_quoting_free_text(raw: object) -> None:
    with pytest.raises(BadValue, match="malformed date") as info:
        clean_date(raw)
    assert "next week" not in str(info.value)


def test_codes_and_yes_no_are_cleaned() -> None:
    assert clean_source("a) 1A: Individual") == ("1A", True)
    assert clean_source("p1) 5D: LA services") == ("5D", True)
    assert clean_source("q) 6: Police") == ("6", True)
    assert clean_source("Police") == (None, False)
    assert clean_source("n/a") == (None, True)
    assert (clean_bool("a) Yes"), clean_bool("b) No"), clean_bool("Y"), clean_bool("")) == (
        True,
        False,
        True,
        None,
    )


def test_annex_a_records_count_in_volumes_but_never_in_timeliness(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    # Contacts on 15 and 20 November 2026, a referral on 16 November: all due in 2026-W47.
    import_annex_a(team, _messy(tmp_path / "annex.xlsx"), team_id="DAT-A", now=LATER)
    timed = {
        "contact_id": "CMS-1",
        "child_id": "CH-1",
        "received_at": "2026-11-18T10:00:00",
        "team_id": "DAT-A",
        "outcome": "NFA",
        "outcome_at": "2026-11-18T11:00:00",
    }
    assert load(team, tmp_path, "contacts", [timed]).rejected == 0
    with team.connect() as conn:
        flags = dict(conn.execute(select(CONTACT.contact_id, CONTACT.untimed)).all())
        referral_flags = set(conn.execute(select(table_of(Referral).c.untimed)).scalars())
        figures = week_figures(
            conn, RULES, calendar, week_of(date(2026, 11, 18)), team_ids=["DAT-A"]
        ).total
    assert flags.pop("CMS-1") is False
    assert set(flags.values()) == {True}
    assert referral_flags == {True}
    assert figures.contacts_received == 2  # 18 and 20 November: Annex A counts in volumes
    assert (figures.contact_timely.numerator, figures.contact_timely.denominator) == (1, 1)
    assert figures.referral_timely.denominator == 0  # the Annex A referral is not judged
