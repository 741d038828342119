"""CIN census XML import on both engines: samples, idempotence, unsafe and malformed files.

Expected counts were read by hand from the XML samples in ../shared/samples (see each test);
the due moments in the scan test were counted by hand from the calendar.
"""

from __future__ import annotations

import argparse
import csv
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from frontdoor.bootstrap import App, build_app
from frontdoor.cin_census import CinReport, import_cin_census
from frontdoor.clock import WorkingCalendar
from frontdoor.commands_cin import cin_census
from frontdoor.errors import FileRefused, UsageError
from frontdoor.models import Assessment, Referral, S47Enquiry, table_of
from frontdoor.rules import load_rules
from frontdoor.scan import run_scan
from frontdoor.settings import Settings
from tests.conftest import REPO
from tests.factories import load_team

SAMPLES = REPO / "tests" / "samples"  # copies of ../shared/samples (provenance: README.md)
RULES = load_rules(REPO / "rules")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} not present")


@pytest.fixture(name="team")
def _team(engine: Engine, tmp_path: Path) -> Engine:
    load_team(engine, tmp_path)
    return engine


def counts(report: CinReport) -> dict[str, tuple[int, int, int, int, int]]:
    return {
        k: (s.read, s.inserted, s.updated, s.unchanged, s.rejected)
        for k, s in report.tables.items()
    }


# (file, children, {kind: (read, inserted, updated, unchanged, rejected)}) counted by hand:
SAMPLE_CASES = [
    # One child, one CINdetails with one Assessments and one Section47, all consistent.
    ("liia_cin-2022_fake.xml", 1, {"referrals": (1, 1, 0, 0, 0), "assessments": (1, 1, 0, 0, 0),
                                  "s47": (1, 1, 0, 0, 0)}),
    # 332 children, 402 CINdetails each with a CINreferralDate; no Assessments or Section47.
    ("cinval_fake_CIN_data.xml", 332, {"referrals": (402, 402, 0, 0, 0),
                                      "assessments": (0, 0, 0, 0, 0), "s47": (0, 0, 0, 0, 0)}),
    # Two children. DfEX0000001's assessment is authorised (2020-09-19) before it starts
    # (2028-04-28): rejected. The other assessment and the Section47 are fine.
    ("cinval_CIN_Census_2024.xml", 2, {"referrals": (2, 2, 0, 0, 0),
                                      "assessments": (2, 1, 0, 0, 1), "s47": (1, 1, 0, 0, 0)}),
    # As 2024 plus <PreProceedingsandFGDM>, which is not mapped.
    ("cinval_CIN_Census_2026.xml", 2, {"referrals": (2, 2, 0, 0, 0),
                                      "assessments": (2, 1, 0, 0, 1), "s47": (1, 1, 0, 0, 0)}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "children", "expected"), SAMPLE_CASES)
def test_sample_imports_with_expected_counts_and_reimport_is_unchanged(
    team: Engine, name: str, children: int, expected: dict[str, tuple[int, ...]]
) -> None:
    path = SAMPLES / name
    first = import_cin_census(team, path, team_id="DAT-A", now=NOW)
    assert first.error is None
    assert first.children == children
    assert counts(first) == expected
    again = import_cin_census(team, path, team_id="DAT-A", now=LATER)
    assert again.error is None
    unchanged = {k: (r, 0, 0, r - rej, rej) for k, (r, _, _, _, rej) in expected.items()}
    assert counts(again) == unchanged


def test_2022_sample_maps_every_field(team: Engine) -> None:
    import_cin_census(team, SAMPLES / "liia_cin-2022_fake.xml", team_id="DAT-A", now=NOW)
    with team.connect() as conn:
        ref = conn.execute(select(table_of(Referral))).one()
        ass = conn.execute(select(table_of(Assessment))).one()
        s47 = conn.execute(select(table_of(S47Enquiry))).one()
    assert ref.referral_id == "DfEX0000001-19701006"
    assert ref.child_id == "DfEX0000001"
    assert ref.team_id == "DAT-A"
    assert ref.source == "1A"
    assert ref.decision == "Further action"  # ReferralNFA false
    # 00:00 local on 6 October 1970: Britain kept BST all year then (UTC+1).
    assert ref.received_at == datetime(1970, 10, 5, 23, 0, tzinfo=UTC)
    assert ref.decision_at == ref.received_at
    assert ref.untimed is True  # no decision time: volumes only, never timeliness
    assert ass.assessment_id == "DfEX0000001-19701006-A19700603"
    assert ass.referral_id == ref.referral_id
    assert (ass.start_date, ass.authorised_date) == (date(1970, 6, 3), date(1971, 7, 18))
    assert s47.s47_id == "DfEX0000001-19701006-S19700602"
    assert s47.discussion_id is None
    assert (s47.start_date, s47.icpc_date) == (date(1970, 6, 2), date(1970, 6, 17))
    assert s47.icpc_not_required is False


def test_rejected_assessment_names_child_element_and_field(team: Engine) -> None:
    report = import_cin_census(
        team, SAMPLES / "cinval_CIN_Census_2024.xml", team_id="DAT-A", now=NOW
    )
    assert report.partial
    [reject] = report.rejects
    assert reject.child_id == "DfEX0000001"
    assert reject.element == "Child[1]/CINdetails[1]/Assessments[1]"
    assert reject.field == "AssessmentAuthorisationDate"
    assert "before start_date" in reject.reason


def _census(children: str, *, prolog: str = "", ns: str = "") -> str:
    xmlns = f' xmlns="{ns}"' if ns else ""
    return f"{prolog}<Message{xmlns}><Header/><Children>{children}</Children></Message>"


def _child(child_id: str, details: str) -> str:
    return (
        f"<Child><ChildIdentifiers><LAchildID>{child_id}</LAchildID></ChildIdentifiers>"
        f"<CINdetails>{details}</CINdetails></Child>"
    )


def test_bad_date_rejects_that_child_only(team: Engine, tmp_path: Path) -> None:
    path = tmp_path / "census.xml"
    path.write_text(
        _census(
            _child("C1", "<CINreferralDate>2026-10-01</CINreferralDate>")
            + _child(
                "C2",
                "<CINreferralDate>2026-13-01</CINreferralDate>"
                "<Assessments><AssessmentActualStartDate>2026-10-02"
                "</AssessmentActualStartDate></Assessments>",
            )
            + _child("C3", "<CINreferralDate>01/10/2026</CINreferralDate>"),
            ns="http://www.dfes.gov.uk/CIN",  # namespaced files read like plain ones
        ),
        encoding="utf-8",
    )
    report = import_cin_census(team, path, team_id="DAT-A", now=NOW)
    assert report.children == 3
    assert counts(report)["referrals"] == (3, 2, 0, 0, 1)
    assert counts(report)["assessments"] == (1, 0, 0, 0, 1)
    first, second = report.rejects
    assert (first.child_id, first.element, first.field) == (
        "C2",
        "Child[2]/CINdetails[1]",
        "CINreferralDate",
    )
    assert "malformed date '2026-13-01'" in first.reason
    assert second.element == "Child[2]/CINdetails[1]/Assessments[1]"
    with team.connect() as conn:
        ids = set(conn.execute(select(table_of(Referral).c.referral_id)).scalars())
    assert ids == {"C1-20261001", "C3-20261001"}


def test_not_xml_and_truncated_files_name_file_and_position(team: Engine, tmp_path: Path) -> None:
    junk = tmp_path / "junk.xml"
    junk.write_text("this is not XML\n", encoding="utf-8")
    with pytest.raises(FileRefused, match=r"junk\.xml: malformed XML at line 1, column 0"):
        import_cin_census(team, junk, team_id="DAT-A", now=NOW)

    text = (SAMPLES / "cinval_fake_CIN_data.xml").read_text(encoding="utf-8")
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    report = import_cin_census(team, cut, team_id="DAT-A", now=NOW)
    assert report.error is not None
    assert "cut.xml: malformed XML at line" in report.error
    # The children read before the error are imported; nothing after.
    assert 0 < report.children < 332
    assert report.tables["referrals"].inserted == report.tables["referrals"].read


@pytest.mark.parametrize(
    "prolog",
    [
        # billion laughs
        '<!DOCTYPE Message [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>',
        # external entity
        '<!DOCTYPE Message [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        # a DTD alone
        '<!DOCTYPE Message SYSTEM "http://example.org/cin.dtd">',
    ],
)
def test_dtd_and_entities_are_refused_before_anything_is_written(
    team: Engine, tmp_path: Path, prolog: str
) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(
        _census(_child("C1", "<CINreferralDate>&c;</CINreferralDate>"), prolog=prolog),
        encoding="utf-8",
    )
    with pytest.raises(FileRefused, match=r"evil\.xml: refused: the file declares a DTD"):
        import_cin_census(team, path, team_id="DAT-A", now=NOW)
    with team.connect() as conn:
        assert conn.execute(select(table_of(Referral))).first() is None


def test_unknown_team_and_wrong_root_are_refused(team: Engine, tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<Workbook/>", encoding="utf-8")
    with pytest.raises(UsageError, match="not in the teams table"):
        import_cin_census(team, path, team_id="NOPE", now=NOW)
    with pytest.raises(FileRefused, match="not a CIN census file"):
        import_cin_census(team, path, team_id="DAT-A", now=NOW)


def test_icpc_and_assessment_rules_find_census_records(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    path = tmp_path / "census.xml"
    details = (
        "<CINreferralDate>2026-10-01</CINreferralDate><ReferralNFA>false</ReferralNFA>"
        "<Assessments><AssessmentActualStartDate>2026-10-02</AssessmentActualStartDate>"
        "</Assessments>"
        "<Section47><S47ActualStartDate>2026-10-05</S47ActualStartDate>"
        "<InitialCPCtarget>2026-10-26</InitialCPCtarget></Section47>"
    )
    on_time = (
        "<CINreferralDate>2026-10-01</CINreferralDate>"
        "<Section47><S47ActualStartDate>2026-10-05</S47ActualStartDate>"
        "<DateOfInitialCPC>2026-10-20</DateOfInitialCPC></Section47>"
        "<Section47><S47ActualStartDate>2026-10-06</S47ActualStartDate>"
        "<ICPCnotRequired>true</ICPCnotRequired></Section47>"
    )
    path.write_text(_census(_child("C1", details) + _child("C2", on_time)), encoding="utf-8")
    report = import_cin_census(team, path, team_id="DAT-A", now=NOW)
    assert not report.partial

    def found(now: datetime) -> dict[str, str]:
        result = run_scan(team, RULES, calendar, now=now)
        return {f.record_id: f.rule for f in result.findings}

    # ICPC: S47 starts Mon 5 Oct 2026 (day 0); working days 6-9 Oct (4), 12-16 (9), 19-23 (14),
    # Mon 26 Oct (15): due at the end of 26 Oct, GMT after the clocks go back on 25 Oct.
    assert "C1-20261001-S20261005" not in found(datetime(2026, 10, 26, 23, 59, tzinfo=UTC))
    assert found(datetime(2026, 10, 27, 0, 0, 1, tzinfo=UTC)) == {
        "C1-20261001-S20261005": "icpc-15wd"
    }
    # Assessment: referral Thu 1 Oct (day 0); 2 Oct (1), 5-30 Oct (2-21), Nov (22-42),
    # 1-3 Dec (43-45): due at the end of Thu 3 Dec 2026.
    at_3_dec = found(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    assert at_3_dec == {"C1-20261001-S20261005": "icpc-15wd"}
    at_4_dec = found(datetime(2026, 12, 4, 0, 0, 1, tzinfo=UTC))
    assert at_4_dec == {
        "C1-20261001-S20261005": "icpc-15wd",
        "C1-20261001-A20261002": "assessment-45wd",
    }


def _app(engine: Engine, default_team: str | None) -> App:
    return build_app(Settings(default_team=default_team, _env_file=None), engine=engine)


def test_command_exit_codes_and_report(
    team: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "cinval_CIN_Census_2024.xml"
    no_team = _app(team, None)
    args = argparse.Namespace(path=sample, team=None, report_dir=tmp_path)
    assert cin_census(no_team, args, now=NOW) == 2
    assert "FRONTDOOR_DEFAULT_TEAM" in capsys.readouterr().err
    assert (
        cin_census(
            no_team, argparse.Namespace(path=sample, team="NOPE", report_dir=tmp_path), now=NOW
        )
        == 2
    )
    assert "not in the teams table" in capsys.readouterr().err

    app = _app(team, "DAT-A")
    assert cin_census(app, args, now=NOW) == 1  # one assessment rejected
    out = capsys.readouterr().out
    assert "2 child(ren) read" in out
    assert "assessments: read 2, inserted 1, updated 0, unchanged 0, rejected 1" in out
    assert "child 1 (LAchildID DfEX0000001) Child[1]/CINdetails[1]/Assessments[1]" in out
    saved = tmp_path / "cinval_CIN_Census_2024.rejects.csv"
    assert f"every reject: {saved}" in out
    header, *rows = list(csv.reader(saved.read_text(encoding="utf-8").splitlines()))
    assert header == ["kind", "child_no", "child_id", "element", "field", "reason"]
    assert [r[:3] for r in rows] == [["assessments", "1", "DfEX0000001"]]
    liia = argparse.Namespace(
        path=SAMPLES / "liia_cin-2022_fake.xml", team=None, report_dir=tmp_path
    )
    assert cin_census(app, liia, now=NOW) == 0
    cut = tmp_path / "cut.xml"
    cut.write_text(sample.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    with pytest.raises(FileRefused, match="malformed XML"):
        cin_census(app, argparse.Namespace(path=cut, team=None, report_dir=tmp_path), now=LATER)


def test_later_census_updates_and_duplicates_are_rejected_by_name(
    team: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "census.xml"
    block = (
        "<CINreferralDate>2026-10-01</CINreferralDate>"
        "<Assessments><AssessmentActualStartDate>2026-10-02</AssessmentActualStartDate>"
        "{auth}</Assessments>"
    )
    path.write_text(_census(_child("C1", block.format(auth=""))), encoding="utf-8")
    import_cin_census(team, path, team_id="DAT-A", now=NOW)
    authorised = block.format(
        auth="<AssessmentAuthorisationDate>2026-11-02</AssessmentAuthorisationDate>"
    )
    # The same referral twice in one child: the second block is a duplicate id.
    path.write_text(
        _census(
            "<Child><ChildIdentifiers><LAchildID>C1</LAchildID></ChildIdentifiers>"
            f"<CINdetails>{authorised}</CINdetails><CINdetails>{authorised}</CINdetails></Child>"
        ),
        encoding="utf-8",
    )
    report = import_cin_census(team, path, team_id="DAT-A", now=LATER, batch_size=1)
    assert counts(report)["assessments"] == (2, 0, 1, 0, 1)
    assert counts(report)["referrals"] == (2, 0, 0, 1, 1)
    paths = sorted((r.kind, r.element) for r in report.rejects)
    assert paths == [
        ("assessments", "Child[1]/CINdetails[2]/Assessments[1]"),
        ("referrals", "Child[1]/CINdetails[2]"),
    ]
    assert all("duplicate id" in r.reason for r in report.rejects)
    with team.connect() as conn:
        auth = conn.execute(select(table_of(Assessment).c.authorised_date)).scalar_one()
    assert auth == date(2026, 11, 2)


def _big_census(path: Path, children: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("<Message><Header/><Children>")
        for n in range(children):
            out.write(
                _child(
                    f"M{children}-{n}",
                    "<CINreferralDate>2026-10-01</CINreferralDate><ReferralSource>6</ReferralSource>"
                    "<Assessments><AssessmentActualStartDate>2026-10-02</AssessmentActualStartDate>"
                    "<FactorsIdentifiedAtAssessment><AssessmentFactors>1C</AssessmentFactors>"
                    "</FactorsIdentifiedAtAssessment></Assessments>",
                )
            )
        out.write("</Children></Message>")
    return path


def test_memory_does_not_grow_with_the_number_of_children(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    load_team(sqlite_engine, tmp_path)

    def peak(children: int) -> int:
        path = _big_census(tmp_path / f"big{children}.xml", children)
        tracemalloc.start()
        try:
            report = import_cin_census(
                sqlite_engine, path, team_id="DAT-A", now=NOW, batch_size=200
            )
            used = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert report.tables["assessments"].inserted == children
        return used

    small, large = peak(1000), peak(10000)
    # Ten times the children: a tree kept in memory would need about ten times the memory.
    assert large < 2 * small, (small, large)
