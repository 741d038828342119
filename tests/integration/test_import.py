"""The CSV import against the data contract's general rules, on SQLite and PostgreSQL.

Every expected value below (UTC instants, dates, row numbers) is worked out by hand from the
contract; database contents are read back with SQL, not taken from the import summary.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Table, func, select

from frontdoor import models
from frontdoor.csvformat import FILE_SPECS, IMPORT_ORDER, ParseContext
from frontdoor.errors import FileRefused
from frontdoor.importer import ImportSummary, import_csv, load_team_ids, write_rejects
from tests.factories import INGESTED, LONDON, TEAM_ROW, load, load_team

LATER = datetime(2026, 2, 1, tzinfo=UTC)

MODELS: Mapping[str, type[Any]] = {
    "teams": models.Team,
    "contacts": models.Contact,
    "referrals": models.Referral,
    "strategy-discussions": models.StrategyDiscussion,
    "strategy-attendance": models.StrategyAttendance,
    "s47": models.S47Enquiry,
    "assessments": models.Assessment,
}


def z(text: str) -> datetime:
    """An ISO instant that carries its offset, as aware UTC."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value.astimezone(UTC)


def table_of(kind: str) -> Table:
    table = MODELS[kind].__table__
    assert isinstance(table, Table)
    return table


def db_rows(engine: Engine, kind: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Every row of the kind's table, keyed by its primary key."""
    table = table_of(kind)
    key = FILE_SPECS[kind].key
    with engine.connect() as conn:
        rows = conn.execute(select(table)).mappings().all()
    return {tuple(r[k] for k in key): dict(r) for r in rows}


def db_keys(engine: Engine, kind: str) -> set[tuple[Any, ...]]:
    return set(db_rows(engine, kind))


def db_count(engine: Engine, kind: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table_of(kind))).scalar_one())


def snapshot(engine: Engine) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    return {kind: db_rows(engine, kind) for kind in IMPORT_ORDER}


def write_raw(path: Path, records: Sequence[Sequence[str]], *, encoding: str = "utf-8") -> Path:
    """Write ``records`` (header first) with RFC 4180 quoting as needed."""
    with path.open("w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(records)
    return path


def import_path(
    engine: Engine, kind: str, path: Path, *, ingested_at: datetime = INGESTED
) -> ImportSummary:
    ctx = ParseContext(tz=LONDON, team_ids=load_team_ids(engine))
    return import_csv(engine, kind, path, ctx=ctx, ingested_at=ingested_at, batch_size=100)


def counts_add_up(summary: ImportSummary) -> bool:
    return summary.read == (
        summary.inserted + summary.updated + summary.unchanged + summary.rejected
    )


# --- valid rows of each kind ------------------------------------------------------------------
# ``VALID[kind](n)`` is a valid row with id number ``n``; the ``world`` fixture provides the team
# DAT-A, the referral R1 and the strategy discussion D1 that these rows refer to.

AGENCY_BY_N = {1: "local_authority", 2: "police", 9: "health"}


def team_row(n: int) -> dict[str, object]:
    return {**TEAM_ROW, "team_id": f"T{n}"}


def contact_row(n: int) -> dict[str, object]:
    return {
        "contact_id": f"C{n}",
        "child_id": "CH1",
        "received_at": "2027-01-04T10:00:00Z",
        "team_id": "DAT-A",
        "source": "1A",
    }


def referral_row(n: int) -> dict[str, object]:
    return {
        "referral_id": f"R-{n}",
        "child_id": "CH1",
        "received_at": "2027-01-04T10:00:00Z",
        "team_id": "DAT-A",
        "source": "5D",
    }


def discussion_row(n: int) -> dict[str, object]:
    return {
        "discussion_id": f"D-{n}",
        "child_id": "CH1",
        "held_at": "2027-01-05T10:00:00Z",
        "team_id": "DAT-A",
        "referral_id": "R1",
        "s47_initiated": "Y",
    }


def attendance_row(n: int) -> dict[str, object]:
    return {"discussion_id": "D1", "agency": AGENCY_BY_N[n], "attended": "Y", "role": "DS"}


def s47_row(n: int) -> dict[str, object]:
    return {
        "s47_id": f"S{n}",
        "child_id": "CH1",
        "team_id": "DAT-A",
        "discussion_id": "D1",
        "start_date": "2027-01-05",
    }


def assessment_row(n: int) -> dict[str, object]:
    return {
        "assessment_id": f"A{n}",
        "child_id": "CH1",
        "team_id": "DAT-A",
        "referral_id": "R1",
        "start_date": "2027-01-05",
    }


VALID: Mapping[str, Callable[[int], dict[str, object]]] = {
    "teams": team_row,
    "contacts": contact_row,
    "referrals": referral_row,
    "strategy-discussions": discussion_row,
    "strategy-attendance": attendance_row,
    "s47": s47_row,
    "assessments": assessment_row,
}


def key_of(kind: str, row: Mapping[str, object]) -> tuple[Any, ...]:
    return tuple(row[k] for k in FILE_SPECS[kind].key)


@pytest.fixture(name="world")
def _world(engine: Engine, tmp_path: Path) -> Engine:
    """Team DAT-A, referral R1 and strategy discussion D1."""
    load_team(engine, tmp_path)
    seed = tmp_path / "seed"
    seed.mkdir()
    ref = load(engine, seed, "referrals", [{**referral_row(0), "referral_id": "R1"}])
    disc = load(
        engine, seed, "strategy-discussions", [{**discussion_row(0), "discussion_id": "D1"}]
    )
    assert ref.inserted == 1
    assert disc.inserted == 1
    return engine


# --- bad rows ---------------------------------------------------------------------------------
# (kind, overrides that make the row bad, expected column, expected words in the reason)

BAD_ROWS: list[tuple[str, dict[str, object], str, str]] = [
    # Datetimes
    ("contacts", {"received_at": "2027-03-28 01:30"}, "received_at", "does not exist"),
    ("contacts", {"received_at": "2027-03-28T01:59:59"}, "received_at", "does not exist"),
    ("strategy-discussions", {"held_at": "2027-03-28T01:00"}, "held_at", "does not exist"),
    (
        "contacts",
        {"received_at": "2027-01-04T25:00:00"},
        "received_at",
        "malformed datetime '2027-01-04T25:00:00'",
    ),
    ("contacts", {"received_at": "04/01/2027 10:00"}, "received_at", "malformed datetime"),
    ("contacts", {"received_at": "2027-01-04"}, "received_at", "malformed datetime"),
    ("contacts", {"outcome_at": "soon"}, "outcome_at", "malformed datetime 'soon'"),
    ("referrals", {"decision_at": "tomorrow 9am"}, "decision_at", "malformed datetime"),
    # Completion before receipt
    (
        "contacts",
        {"outcome_at": "2027-01-04T09:59:59Z"},
        "outcome_at",
        "outcome_at is before received_at",
    ),
    (
        "referrals",
        {"decision_at": "2027-01-04T09:00:00Z"},
        "decision_at",
        "decision_at is before received_at",
    ),
    # Unknown references and codes
    ("contacts", {"team_id": "DAT-X"}, "team_id", "unknown team 'DAT-X'"),
    ("s47", {"team_id": "NOPE"}, "team_id", "unknown team 'NOPE'"),
    ("contacts", {"source": "11"}, "source", "unknown source code '11'"),
    ("strategy-attendance", {"agency": "social_care"}, "agency", "unknown agency 'social_care'"),
    (
        "strategy-attendance",
        {"discussion_id": "D-NONE"},
        "discussion_id",
        "unknown discussion_id 'D-NONE'",
    ),
    ("s47", {"discussion_id": "D-NONE"}, "discussion_id", "unknown discussion_id 'D-NONE'"),
    ("assessments", {"referral_id": "R-NONE"}, "referral_id", "unknown referral_id 'R-NONE'"),
    # Empty required values
    ("contacts", {"contact_id": ""}, "contact_id", "required value is empty"),
    ("contacts", {"contact_id": "   "}, "contact_id", "required value is empty"),
    ("contacts", {"child_id": ""}, "child_id", "required value is empty"),
    ("contacts", {"received_at": ""}, "received_at", "required value is empty"),
    ("strategy-attendance", {"attended": ""}, "attended", "required value is empty"),
    ("assessments", {"referral_id": ""}, "referral_id", "required value is empty"),
    ("teams", {"team_name": ""}, "team_name", "required value is empty"),
    # Booleans
    ("strategy-attendance", {"attended": "X"}, "attended", "malformed boolean 'X'"),
    (
        "strategy-discussions",
        {"s47_initiated": "maybe"},
        "s47_initiated",
        "malformed boolean 'maybe'",
    ),
    ("s47", {"icpc_not_required": "perhaps"}, "icpc_not_required", "malformed boolean"),
    # Dates
    ("s47", {"start_date": "2027-02-30"}, "start_date", "malformed date '2027-02-30'"),
    ("s47", {"start_date": "31/13/2027"}, "start_date", "malformed date '31/13/2027'"),
    ("s47", {"start_date": "2027-1-5"}, "start_date", "malformed date"),
    ("s47", {"icpc_date": "next week"}, "icpc_date", "malformed date 'next week'"),
    ("s47", {"icpc_date": "04/01/2027"}, "icpc_date", "icpc_date is before start_date"),
    ("assessments", {"start_date": "29/02/2027"}, "start_date", "malformed date"),
    (
        "assessments",
        {"authorised_date": "2027-01-04"},
        "authorised_date",
        "authorised_date is before start_date",
    ),
    # Other values
    ("teams", {"manager_email": "not-an-email"}, "manager_email", "malformed e-mail address"),
]


@pytest.mark.parametrize(
    ("kind", "bad", "column", "reason"),
    BAD_ROWS,
    ids=[f"{k}-{c}-{next(iter(b.values()))!s}" for k, b, c, _ in BAD_ROWS],
)
def test_a_bad_row_is_rejected_with_row_column_and_reason_and_the_valid_rows_are_imported(
    world: Engine, tmp_path: Path, kind: str, bad: dict[str, object], column: str, reason: str
) -> None:
    good1, good2 = VALID[kind](1), VALID[kind](2)
    bad_row = {**VALID[kind](9), **bad}
    before = db_keys(world, kind)

    summary = load(world, tmp_path, kind, [good1, bad_row, good2])

    assert summary.partial
    assert (summary.read, summary.inserted, summary.rejected) == (3, 2, 1)
    assert counts_add_up(summary)
    assert len(summary.rejects) == 1
    reject = summary.rejects[0]
    assert (reject.row, reject.column) == (3, column)  # header = row 1, so the 2nd record is 3
    assert reason in reject.reason
    key_column = FILE_SPECS[kind].key[0]
    assert reject.record_id == str(bad_row[key_column]).strip()
    assert db_keys(world, kind) - before == {key_of(kind, good1), key_of(kind, good2)}


def test_a_row_with_several_problems_lists_each_and_counts_as_one_rejected_row(
    world: Engine, tmp_path: Path
) -> None:
    bad = {**contact_row(9), "team_id": "DAT-X", "received_at": "yesterday", "source": "99"}

    summary = load(world, tmp_path, "contacts", [contact_row(1), bad])

    assert summary.rejected == 1
    assert sorted((r.row, r.column) for r in summary.rejects) == [
        (3, "received_at"),
        (3, "source"),
        (3, "team_id"),
    ]
    assert db_keys(world, "contacts") == {("C1",)}


@pytest.mark.parametrize(
    "odd",
    [
        ["C2", "CH1", "2027-01-04T10:00:00Z", "DAT-A", "surplus"],
        ["C2", "CH1", "2027-01-04T10:00:00Z"],
    ],
    ids=["too-many", "too-few"],
)
def test_a_row_with_too_many_or_too_few_fields_is_rejected_as_a_whole_row(
    world: Engine, tmp_path: Path, odd: list[str]
) -> None:
    path = write_raw(
        tmp_path / "contacts.csv",
        [
            ["contact_id", "child_id", "received_at", "team_id"],
            ["C1", "CH1", "2027-01-04T10:00:00Z", "DAT-A"],
            odd,
            ["C3", "CH1", "2027-01-04T10:00:00Z", "DAT-A"],
        ],
    )

    summary = import_path(world, "contacts", path)

    assert summary.partial
    assert [(r.row, r.record_id, r.column) for r in summary.rejects] == [(3, "C2", "*")]
    assert f"row has {len(odd)} fields, the header has 4" in summary.rejects[0].reason
    assert db_keys(world, "contacts") == {("C1",), ("C3",)}


def test_reference_rejects_in_a_later_batch_carry_their_own_row_number(
    world: Engine, tmp_path: Path
) -> None:
    discussions = [{**discussion_row(0), "discussion_id": f"D{n:03}"} for n in range(150)]
    assert load(world, tmp_path, "strategy-discussions", discussions).rejected == 0
    attendance = [
        {"discussion_id": f"D{n:03}", "agency": agency, "attended": "Y"}
        for n in range(150)
        for agency in ("local_authority", "police", "health")
    ]
    attendance.insert(300, {"discussion_id": "D-NONE", "agency": "police", "attended": "N"})

    summary = load(world, tmp_path, "strategy-attendance", attendance)

    assert (summary.read, summary.inserted, summary.rejected) == (451, 450, 1)
    assert [(r.row, r.column) for r in summary.rejects] == [(302, "discussion_id")]
    assert db_count(world, "strategy-attendance") == 450


# --- whole-file refusals ----------------------------------------------------------------------

REQUIRED = [
    (kind, col.name) for kind, spec in FILE_SPECS.items() for col in spec.columns if col.must_exist
]


@pytest.mark.parametrize(("kind", "missing"), REQUIRED, ids=[f"{k}-{c}" for k, c in REQUIRED])
def test_a_file_missing_a_required_column_is_refused_whole_naming_file_and_column(
    world: Engine, tmp_path: Path, kind: str, missing: str
) -> None:
    before = snapshot(world)
    header = [c for c in FILE_SPECS[kind].column_names if c != missing]

    with pytest.raises(FileRefused) as refused:
        load(world, tmp_path, kind, [VALID[kind](1), VALID[kind](2)], header=header)

    message = str(refused.value)
    assert f"{kind}.csv" in message
    assert missing in message
    assert "refused" in message
    assert snapshot(world) == before


def test_required_columns_are_exactly_those_the_contract_marks_with_a_star() -> None:
    required = {kind: {c for k, c in REQUIRED if k == kind} for kind in FILE_SPECS}
    assert required == {
        "teams": {
            "team_id",
            "team_name",
            "manager_name",
            "manager_email",
            "service_manager_name",
            "service_manager_email",
        },
        "contacts": {"contact_id", "child_id", "received_at", "team_id"},
        "referrals": {"referral_id", "child_id", "received_at", "team_id"},
        "strategy-discussions": {"discussion_id", "child_id", "held_at", "team_id"},
        "strategy-attendance": {"discussion_id", "agency", "attended"},
        "s47": {"s47_id", "child_id", "team_id", "start_date"},
        "assessments": {"assessment_id", "child_id", "team_id", "referral_id", "start_date"},
    }


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"], ids=["empty", "bom-only"])
def test_an_empty_file_is_refused(world: Engine, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)

    with pytest.raises(FileRefused, match="empty") as refused:
        import_path(world, "contacts", path)

    assert "contacts.csv" in str(refused.value)


def test_a_header_naming_a_column_twice_is_refused_and_nothing_is_imported(
    world: Engine, tmp_path: Path
) -> None:
    path = write_raw(
        tmp_path / "contacts.csv",
        [
            ["contact_id", "child_id", "received_at", "team_id", " Contact_ID "],
            ["C1", "CH1", "2027-01-04T10:00:00Z", "DAT-A", "C1"],
        ],
    )

    with pytest.raises(FileRefused, match="'contact_id' appears twice") as refused:
        import_path(world, "contacts", path)

    assert "contacts.csv" in str(refused.value)
    assert db_count(world, "contacts") == 0


def test_a_header_only_file_imports_nothing_and_is_not_partial(
    world: Engine, tmp_path: Path
) -> None:
    path = write_raw(
        tmp_path / "contacts.csv", [["contact_id", "child_id", "received_at", "team_id"]]
    )

    summary = import_path(world, "contacts", path)

    assert (summary.read, summary.partial) == (0, False)
    assert db_count(world, "contacts") == 0


def test_a_file_that_is_not_utf8_is_refused_whole(world: Engine, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        "contact_id,child_id,received_at,team_id,outcome\n"
        "C1,CH1,2027-01-04T10:00:00Z,DAT-A,Caf\xe9\n".encode("cp1252")
    )

    with pytest.raises(FileRefused, match="not valid UTF-8") as refused:
        import_path(world, "contacts", path)

    assert "contacts.csv" in str(refused.value)
    assert db_count(world, "contacts") == 0


@pytest.mark.parametrize(("kind", "column"), [("contacts", "outcome"), ("referrals", "decision")])
def test_free_text_longer_than_the_database_column_is_rejected_naming_the_column(
    world: Engine, tmp_path: Path, kind: str, column: str
) -> None:
    """The row is rejected (not truncated, not an aborted import); the other rows import."""
    rows = [VALID[kind](1), {**VALID[kind](2), column: "x" * 101}, VALID[kind](3)]

    summary = load(world, tmp_path, kind, rows)

    stored = db_rows(world, kind)
    assert key_of(kind, rows[0]) in stored
    assert key_of(kind, rows[2]) in stored
    assert key_of(kind, rows[1]) not in stored
    assert [(r.row, r.column, r.reason) for r in summary.rejects] == [
        (3, column, "longer than 100 characters")
    ]


def test_a_later_file_without_an_optional_column_keeps_the_stored_values(
    world: Engine, tmp_path: Path
) -> None:
    first = load(world, tmp_path, "contacts", [
        {"contact_id": "C1", "child_id": "CH1", "received_at": "2027-01-04T10:00:00Z",
         "team_id": "DAT-A", "outcome": "NFA", "outcome_at": "2027-01-04T12:00:00Z"},
    ])
    assert first.inserted == 1
    narrow = ("contact_id", "child_id", "received_at", "team_id", "worker_id")
    later = load(world, tmp_path, "contacts", [
        {"contact_id": "C1", "child_id": "CH1", "received_at": "2027-01-04T10:00:00Z",
         "team_id": "DAT-A", "worker_id": "W9"},
    ], header=narrow)

    assert (later.updated, later.unchanged) == (1, 0)
    row = db_rows(world, "contacts")[key_of("contacts", {"contact_id": "C1"})]
    assert row["worker_id"] == "W9"
    assert row["outcome"] == "NFA"
    assert row["outcome_at"] == datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


# --- header and CSV syntax --------------------------------------------------------------------


def test_headers_match_case_insensitively_after_trimming_in_any_order_and_unknown_columns_warn_once(
    world: Engine, tmp_path: Path
) -> None:
    path = write_raw(
        tmp_path / "contacts.csv",
        [
            ["  Team_ID", "RECEIVED_AT ", "Notes", "Contact_Id", " child_id", "OUTCOME_AT"],
            ["DAT-A", "2027-01-04T10:00:00Z", "free text", "C1", "CH1", ""],
            ["DAT-A", "2027-01-04T11:00:00Z", "more text", "C2", "CH2", "2027-01-04T12:00:00Z"],
        ],
    )

    summary = import_path(world, "contacts", path)

    assert (summary.inserted, summary.rejected) == (2, 0)
    assert len(summary.warnings) == 1
    assert "'notes'" in summary.warnings[0]
    assert "contacts.csv" in summary.warnings[0]
    rows = db_rows(world, "contacts")
    assert rows[("C1",)]["team_id"] == "DAT-A"
    assert rows[("C1",)]["child_id"] == "CH1"
    assert rows[("C1",)]["outcome_at"] is None
    assert rows[("C2",)]["received_at"] == z("2027-01-04T11:00:00Z")
    assert rows[("C2",)]["outcome_at"] == z("2027-01-04T12:00:00Z")


def test_a_utf8_byte_order_mark_is_accepted(world: Engine, tmp_path: Path) -> None:
    path = write_raw(
        tmp_path / "contacts.csv",
        [
            ["contact_id", "child_id", "received_at", "team_id"],
            ["C1", "CH1", "2027-01-04T10:00:00Z", "DAT-A"],
        ],
        encoding="utf-8-sig",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    summary = import_path(world, "contacts", path)

    assert (summary.inserted, summary.rejected, summary.warnings) == (1, 0, [])
    assert db_keys(world, "contacts") == {("C1",)}


def test_rfc4180_quoting_keeps_commas_newlines_and_quotes_inside_a_field(
    world: Engine, tmp_path: Path
) -> None:
    role = 'DS, Safeguarding Unit\nsecond line, "quoted"'
    path = write_raw(
        tmp_path / "strategy_attendance.csv",
        [
            ["discussion_id", "agency", "attended", "role"],
            ["D1", "police", "Y", role],
            ["D1", "health", "Y", "Named nurse, safeguarding"],
            ["D1", "martians", "Y", ""],
        ],
    )
    raw = path.read_text(encoding="utf-8")
    assert '"DS, Safeguarding Unit\nsecond line, ""quoted"""' in raw

    summary = import_path(world, "strategy-attendance", path)

    assert (summary.inserted, summary.rejected) == (2, 1)
    rows = db_rows(world, "strategy-attendance")
    assert rows[("D1", "police")]["role"] == role
    assert rows[("D1", "health")]["role"] == "Named nurse, safeguarding"
    # Rows are CSV records: the quoted newline does not shift the row number of later records.
    assert [(r.row, r.column) for r in summary.rejects] == [(4, "agency")]


# --- value formats ----------------------------------------------------------------------------

DATETIMES = [
    ("2027-06-01T10:00:00Z", "2027-06-01T10:00:00+00:00"),
    ("2027-06-01T10:00:00+01:00", "2027-06-01T09:00:00+00:00"),
    ("2027-06-01T10:00:00-05:00", "2027-06-01T15:00:00+00:00"),
    # Without an offset: local Europe/London, BST in summer, GMT in winter.
    ("2027-06-01T10:00:00", "2027-06-01T09:00:00+00:00"),
    ("2027-01-15T10:00:00", "2027-01-15T10:00:00+00:00"),
    ("2027-06-01 10:00", "2027-06-01T09:00:00+00:00"),
    ("2027-06-01T10:00:30.250000", "2027-06-01T09:00:30.250000+00:00"),
    # Either side of the spring-forward gap (01:00-02:00 GMT on 28 March 2027 does not exist).
    ("2027-03-28T00:59:59", "2027-03-28T00:59:59+00:00"),
    ("2027-03-28T02:00:00", "2027-03-28T01:00:00+00:00"),
    # The repeated autumn hour: first occurrence (BST); with an offset, as given.
    ("2027-10-31T01:30", "2027-10-31T00:30:00+00:00"),
    ("2027-10-31T01:30:00+00:00", "2027-10-31T01:30:00+00:00"),
    ("2027-10-31T02:30:00", "2027-10-31T02:30:00+00:00"),
]


def test_datetimes_with_and_without_offset_are_stored_as_the_right_utc_instant(
    world: Engine, tmp_path: Path
) -> None:
    rows = [{**contact_row(n), "received_at": text} for n, (text, _) in enumerate(DATETIMES)]

    summary = load(world, tmp_path, "contacts", rows)

    assert (summary.inserted, summary.rejected) == (len(DATETIMES), 0), summary.rejects
    stored = db_rows(world, "contacts")
    got = {n: stored[(f"C{n}",)]["received_at"] for n in range(len(DATETIMES))}
    assert got == {n: z(utc) for n, (_, utc) in enumerate(DATETIMES)}
    assert all(
        v.utcoffset() is not None and v.utcoffset().total_seconds() == 0 for v in got.values()
    )


def test_dates_are_read_as_iso_or_day_month_year(world: Engine, tmp_path: Path) -> None:
    rows = [
        {**s47_row(1), "start_date": "2027-02-01", "icpc_date": "2028-02-29"},
        {**s47_row(2), "start_date": "01/02/2027", "icpc_date": "29/02/2028"},
        {**s47_row(3), "start_date": " 12/01/2027 ", "icpc_date": ""},
    ]

    summary = load(world, tmp_path, "s47", rows)

    assert summary.rejected == 0, summary.rejects
    stored = db_rows(world, "s47")
    assert stored[("S1",)]["start_date"] == date(2027, 2, 1)
    assert stored[("S2",)]["start_date"] == date(2027, 2, 1)  # 1 February, not 2 January
    assert stored[("S1",)]["icpc_date"] == stored[("S2",)]["icpc_date"] == date(2028, 2, 29)
    assert stored[("S3",)]["start_date"] == date(2027, 1, 12)
    assert stored[("S3",)]["icpc_date"] is None


BOOLEANS = [
    ("Y", True),
    ("N", False),
    ("y", True),
    ("n", False),
    ("YES", True),
    ("No", False),
    ("true", True),
    ("FALSE", False),
    ("True", True),
    ("1", True),
    ("0", False),
    (" y ", True),
    ("", None),
]


def test_booleans_accept_every_contract_spelling_and_empty_is_unknown(
    world: Engine, tmp_path: Path
) -> None:
    rows = [{**discussion_row(n), "s47_initiated": text} for n, (text, _) in enumerate(BOOLEANS)]
    s47 = [
        {**s47_row(1), "icpc_not_required": ""},
        {**s47_row(2), "icpc_not_required": "yes"},
        {**s47_row(3), "icpc_not_required": "n"},
    ]

    assert load(world, tmp_path, "strategy-discussions", rows).rejected == 0
    assert load(world, tmp_path, "s47", s47).rejected == 0

    discussions = db_rows(world, "strategy-discussions")
    assert {n: discussions[(f"D-{n}",)]["s47_initiated"] for n in range(len(BOOLEANS))} == {
        n: value for n, (_, value) in enumerate(BOOLEANS)
    }
    enquiries = db_rows(world, "s47")
    assert enquiries[("S1",)]["icpc_not_required"] is None
    assert enquiries[("S2",)]["icpc_not_required"] is True
    assert enquiries[("S3",)]["icpc_not_required"] is False


def test_attended_takes_any_boolean_spelling(world: Engine, tmp_path: Path) -> None:
    rows = [
        {**attendance_row(1), "attended": "tRuE"},
        {**attendance_row(2), "attended": "0"},
        {**attendance_row(9), "attended": "no"},
    ]

    assert load(world, tmp_path, "strategy-attendance", rows).rejected == 0

    stored = db_rows(world, "strategy-attendance")
    assert stored[("D1", "local_authority")]["attended"] is True
    assert stored[("D1", "police")]["attended"] is False
    assert stored[("D1", "health")]["attended"] is False


def test_an_outcome_recorded_at_the_instant_of_receipt_is_valid(
    world: Engine, tmp_path: Path
) -> None:
    rows = [
        {
            **contact_row(1),
            "received_at": "2027-01-04T10:00:00Z",
            "outcome_at": "2027-01-04T10:00:00Z",
        },
        # The same instant written two ways: 11:00 BST is 10:00 UTC.
        {
            **contact_row(2),
            "received_at": "2027-06-01T11:00:00",
            "outcome_at": "2027-06-01T10:00:00Z",
        },
    ]
    referral = {**referral_row(1), "decision_at": "2027-01-04T10:00:00+00:00"}

    summary = load(world, tmp_path, "contacts", rows)
    assert load(world, tmp_path, "referrals", [referral]).rejected == 0

    assert (summary.inserted, summary.rejected) == (2, 0), summary.rejects
    stored = db_rows(world, "contacts")
    assert stored[("C1",)]["outcome_at"] == stored[("C1",)]["received_at"]
    assert stored[("C2",)]["outcome_at"] == z("2027-06-01T10:00:00Z")
    assert db_rows(world, "referrals")[("R-1",)]["decision_at"] == z("2027-01-04T10:00:00Z")


def test_optional_columns_may_be_left_out_of_the_header(world: Engine, tmp_path: Path) -> None:
    summary = load(
        world,
        tmp_path,
        "contacts",
        [contact_row(1)],
        header=["contact_id", "child_id", "received_at", "team_id"],
    )

    assert (summary.inserted, summary.rejected, summary.warnings) == (1, 0, [])
    row = db_rows(world, "contacts")[("C1",)]
    assert (row["source"], row["outcome"], row["outcome_at"]) == (None, None, None)


# --- idempotent upsert ------------------------------------------------------------------------

DATASET: Mapping[str, list[dict[str, object]]] = {
    "teams": [team_row(1), team_row(2)],
    "contacts": [
        {
            **contact_row(1),
            "worker_id": "W1",
            "outcome": "NFA",
            "outcome_at": "2027-06-01T12:00:00",
        },
        contact_row(2),
    ],
    "referrals": [
        {
            **referral_row(1),
            "contact_id": "C1",
            "decision": "Assessment",
            "decision_at": "2027-01-05T16:00:00+00:00",
        },
        referral_row(2),
    ],
    "strategy-discussions": [
        discussion_row(1),
        {**discussion_row(2), "s47_initiated": "", "referral_id": ""},
    ],
    "strategy-attendance": [
        attendance_row(1),
        {**attendance_row(2), "attended": "N", "role": "DS, CAIT"},
    ],
    "s47": [
        {**s47_row(1), "icpc_date": "20/01/2027", "icpc_not_required": "N"},
        {**s47_row(2), "discussion_id": ""},
    ],
    "assessments": [
        {**assessment_row(1), "authorised_date": "2027-02-01"},
        assessment_row(2),
    ],
}


def test_importing_the_same_files_twice_changes_nothing(world: Engine, tmp_path: Path) -> None:
    for kind in IMPORT_ORDER:
        first = load(world, tmp_path, kind, DATASET[kind])
        assert (first.inserted, first.rejected) == (2, 0), (kind, first.rejects)
    before = snapshot(world)

    for kind in IMPORT_ORDER:
        again = load(world, tmp_path, kind, DATASET[kind], ingested_at=LATER)
        assert (again.read, again.inserted, again.updated, again.unchanged, again.rejected) == (
            2,
            0,
            0,
            2,
            0,
        ), kind

    assert snapshot(world) == before
    assert all(r["ingested_at"] == INGESTED for r in before["contacts"].values())


def test_a_later_file_with_the_same_id_updates_the_record_and_keeps_absent_ones(
    world: Engine, tmp_path: Path
) -> None:
    load(world, tmp_path, "contacts", [contact_row(1), contact_row(2), contact_row(3)])
    later = [
        {**contact_row(1), "outcome": "Referral", "outcome_at": "2027-01-04T15:00:00Z"},
        contact_row(3),
        contact_row(4),
    ]

    summary = load(world, tmp_path, "contacts", later, ingested_at=LATER)

    assert (summary.read, summary.inserted, summary.updated, summary.unchanged) == (3, 1, 1, 1)
    rows = db_rows(world, "contacts")
    assert set(rows) == {("C1",), ("C2",), ("C3",), ("C4",)}  # C2 is kept
    assert rows[("C1",)]["outcome_at"] == z("2027-01-04T15:00:00Z")
    assert rows[("C1",)]["outcome"] == "Referral"
    assert rows[("C1",)]["ingested_at"] == LATER
    assert rows[("C2",)]["ingested_at"] == INGESTED
    assert rows[("C3",)]["ingested_at"] == INGESTED
    assert rows[("C4",)]["ingested_at"] == LATER


def test_a_later_file_updates_a_record_with_a_two_column_key(world: Engine, tmp_path: Path) -> None:
    load(
        world,
        tmp_path,
        "strategy-attendance",
        [{**attendance_row(1)}, {**attendance_row(2), "attended": "N"}],
    )

    summary = load(
        world,
        tmp_path,
        "strategy-attendance",
        [{**attendance_row(2), "attended": "Y", "role": "DC"}],
        ingested_at=LATER,
    )

    assert (summary.updated, summary.unchanged, summary.inserted) == (1, 0, 0)
    rows = db_rows(world, "strategy-attendance")
    assert rows[("D1", "police")]["attended"] is True
    assert rows[("D1", "police")]["role"] == "DC"
    assert rows[("D1", "local_authority")]["attended"] is True
    assert rows[("D1", "local_authority")]["ingested_at"] == INGESTED


def test_the_later_of_two_rows_with_the_same_id_in_one_file_wins(
    world: Engine, tmp_path: Path
) -> None:
    rows = [
        contact_row(1),
        contact_row(2),
        {**contact_row(1), "outcome": "Advice", "outcome_at": "2027-01-04T12:00:00Z"},
        contact_row(2),  # identical repeat
    ]

    summary = load(world, tmp_path, "contacts", rows)

    assert summary.read == 4
    assert summary.rejected == 0
    assert counts_add_up(summary)
    assert db_count(world, "contacts") == 2
    stored = db_rows(world, "contacts")
    assert stored[("C1",)]["outcome"] == "Advice"
    assert stored[("C1",)]["outcome_at"] == z("2027-01-04T12:00:00Z")


def test_the_later_of_two_rows_with_the_same_id_wins_across_batches(
    world: Engine, tmp_path: Path
) -> None:
    rows = [contact_row(n) for n in range(150)]
    rows.append({**contact_row(5), "outcome_at": "2027-01-05T09:00:00Z"})  # batch 2 of 100
    rows.append({**contact_row(120), "outcome_at": "2027-01-05T10:00:00Z"})  # same batch

    summary = load(world, tmp_path, "contacts", rows)

    assert (summary.read, summary.rejected) == (152, 0)
    assert counts_add_up(summary)
    assert summary.inserted == 150
    stored = db_rows(world, "contacts")
    assert len(stored) == 150
    assert stored[("C5",)]["outcome_at"] == z("2027-01-05T09:00:00Z")
    assert stored[("C120",)]["outcome_at"] == z("2027-01-05T10:00:00Z")


# --- batching ---------------------------------------------------------------------------------


def test_a_file_larger_than_the_batch_size_imports_completely(
    world: Engine, tmp_path: Path
) -> None:
    rows = [
        {
            **contact_row(n),
            "received_at": f"2027-01-04T{n % 24:02}:{n % 60:02}:00Z",
            "child_id": f"CH{n}",
        }
        for n in range(1050)
    ]
    rows.insert(555, {**contact_row(99999), "team_id": "DAT-X"})

    summary = load(world, tmp_path, "contacts", rows)
    again = load(world, tmp_path, "contacts", rows, ingested_at=LATER)

    assert (summary.read, summary.inserted, summary.updated, summary.rejected) == (1051, 1050, 0, 1)
    assert [(r.row, r.record_id) for r in summary.rejects] == [(557, "C99999")]
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 1050, 1)
    stored = db_rows(world, "contacts")
    assert len(stored) == 1050
    assert stored[("C0",)]["received_at"] == z("2027-01-04T00:00:00Z")
    assert stored[("C1049",)]["child_id"] == "CH1049"
    assert stored[("C1049",)]["received_at"] == z("2027-01-04T17:29:00Z")  # 1049 % 24, % 60


# --- rejects file -----------------------------------------------------------------------------


def test_write_rejects_lists_file_row_record_column_and_reason(
    world: Engine, tmp_path: Path
) -> None:
    rows = [
        contact_row(1),
        {**contact_row(2), "outcome_at": "soon", "source": "ZZ"},
        {**contact_row(3), "contact_id": ""},
    ]
    summary = load(world, tmp_path, "contacts", rows)
    report_dir = tmp_path / "reports"

    target = write_rejects(summary, report_dir)

    assert target == report_dir / "contacts.rejects.csv"
    with target.open(encoding="utf-8", newline="") as handle:
        written = list(csv.reader(handle))
    assert written[0] == ["file", "row", "record_id", "column", "reason"]
    assert [r[:4] for r in written[1:]] == [
        ["contacts.csv", "3", "C2", "outcome_at"],
        ["contacts.csv", "3", "C2", "source"],
        ["contacts.csv", "4", "", "contact_id"],
    ]
    assert "malformed datetime" in written[1][4]
    assert "unknown source code 'ZZ'" in written[2][4]
    assert written[3][4] == "required value is empty"


def test_write_rejects_removes_a_stale_rejects_file_after_a_clean_import(
    world: Engine, tmp_path: Path
) -> None:
    bad = load(world, tmp_path, "contacts", [contact_row(1), {**contact_row(2), "team_id": "X"}])
    stale = write_rejects(bad, tmp_path)
    assert stale is not None
    assert stale.exists()

    clean = load(world, tmp_path, "contacts", [contact_row(1), contact_row(2)])

    assert write_rejects(clean, tmp_path) is None
    assert not stale.exists()
    assert db_keys(world, "contacts") == {("C1",), ("C2",)}
