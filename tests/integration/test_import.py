"""The CSV import against the data contract's general rules, on SQLite and PostgreSQL.

Every expected value below (UTC instants, dates, row numbers) is worked out by hand from the
contract; database contents are read back with SQL, not taken from the import summary.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Table, func, select

from frontdoor import models
from frontdoor.csvformat import FILE_SPECS, IMPORT_ORDER, ParseContext
from frontdoor.errors import FileRefused
from frontdoor.import_report import MAX_REJECTS_KEPT, ImportSummary, rejects_path_for
from frontdoor.importer import import_csv, load_team_ids
from tests.factories import INGESTED, LONDON, TEAM_ROW, load, load_team, write_csv

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
    (
        "contacts",
        {"outcome_at": "soon"},
        "outcome_at",
        "malformed datetime (4 characters, not shown)",
    ),
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
    (
        "strategy-attendance",
        {"agency": "social_care"},
        "agency",
        "unknown agency: expected one of local_authority, police, health, education, other",
    ),
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
    ("strategy-attendance", {"attended": "X"}, "attended", "malformed boolean: expected Y or N"),
    (
        "strategy-discussions",
        {"s47_initiated": "maybe"},
        "s47_initiated",
        "malformed boolean: expected Y or N",
    ),
    ("s47", {"icpc_not_required": "perhaps"}, "icpc_not_required", "malformed boolean"),
    # Dates
    ("s47", {"start_date": "2027-02-30"}, "start_date", "malformed date '2027-02-30'"),
    ("s47", {"start_date": "31/13/2027"}, "start_date", "malformed date '31/13/2027'"),
    ("s47", {"start_date": "2027-1-5"}, "start_date", "malformed date"),
    ("s47", {"icpc_date": "next week"}, "icpc_date", "malformed date (9 characters, not shown)"),
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


def test_a_file_whose_header_is_not_utf8_is_refused_whole(world: Engine, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        b"contact_id,child_id,received_at,team_id,Notes \xe9\nC1,CH1,2027-01-04,DAT-A,x\n"
    )

    with pytest.raises(FileRefused) as refused:
        import_path(world, "contacts", path)

    assert str(refused.value) == (
        f"{path}: not valid UTF-8 in the header row (byte offset 46); nothing imported"
    )
    assert db_count(world, "contacts") == 0


def contacts_bytes(rows: Sequence[Sequence[str]], *, newline: str = "\n") -> bytes:
    header = "contact_id,child_id,received_at,team_id,outcome"
    return (newline.join([header, *(",".join(r) for r in rows)]) + newline).encode("utf-8")


def contact_cells(n: int, **change: str) -> list[str]:
    cells = {
        "contact_id": f"C{n}",
        "child_id": "CH1",
        "received_at": "2027-01-04T10:00:00Z",
        "team_id": "DAT-A",
        "outcome": "NFA",
        **change,
    }
    return list(cells.values())


def test_a_mid_file_encoding_error_commits_the_rows_before_it_keeps_their_rejects_and_says_where(
    world: Engine, tmp_path: Path
) -> None:
    """Rows 2..229 of a 300-row file are processed (batch size 100); row 230 holds a byte that
    is not UTF-8, so it and every row after it are not read."""
    rows = [contact_cells(n) for n in range(2, 302)]  # row n holds C<n>
    rows[10 - 2] = contact_cells(10, team_id="DAT-X")  # rejected in batch 1
    rows[205 - 2] = contact_cells(205, received_at="yesterday")  # rejected in batch 3
    good = contacts_bytes(rows[: 230 - 2])
    bad_row = b"C230,CH1,2027-01-04T10:00:00Z,DAT-A,Caf\xe9\n"
    path = tmp_path / "contacts.csv"
    path.write_bytes(good + bad_row + contacts_bytes(rows[230 - 1 :]).split(b"\n", 1)[1])
    offset = len(good) + bad_row.index(b"\xe9")
    target = tmp_path / "reports" / "contacts.rejects.csv"

    summary = import_csv(
        world,
        "contacts",
        path,
        ctx=ParseContext(tz=LONDON, team_ids=load_team_ids(world)),
        ingested_at=INGESTED,
        batch_size=100,
        rejects_path=target,
    )

    assert summary.error == (
        f"{path}: not valid UTF-8 in row 230 (byte offset {offset}); "
        "rows 2..229 were processed (imported or rejected), nothing after"
    )
    assert summary.partial
    assert (summary.read, summary.inserted, summary.rejected) == (228, 226, 2)
    assert counts_add_up(summary)
    assert db_keys(world, "contacts") == {(f"C{n}",) for n in range(2, 230) if n not in (10, 205)}
    assert summary.rejects_path == target
    assert [r[:4] for r in read_rejects(target)] == [
        ["contacts.csv", "10", "C10", "team_id"],
        ["contacts.csv", "205", "C205", "received_at"],
    ]
    # Once the byte is fixed, importing again adds the rest and changes nothing else.
    path.write_bytes(path.read_bytes().replace(b"\xe9", b"e"))
    again = import_csv(
        world,
        "contacts",
        path,
        ctx=ParseContext(tz=LONDON, team_ids=load_team_ids(world)),
        ingested_at=LATER,
        batch_size=100,
        rejects_path=target,
    )
    assert (again.error, again.read, again.inserted, again.unchanged, again.rejected) == (
        None,
        300,
        72,
        226,
        2,
    )


def test_an_encoding_error_in_the_first_row_imports_nothing_and_says_so(
    world: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        "contact_id,child_id,received_at,team_id,outcome\n"
        "C1,CH1,2027-01-04T10:00:00Z,DAT-A,Caf\xe9\n".encode("cp1252")
    )

    summary = import_path(world, "contacts", path)

    assert summary.error == (
        f"{path}: not valid UTF-8 in row 2 (byte offset 85); no row was processed"
    )
    assert (summary.read, summary.partial) == (0, True)
    assert "stopped early" in summary.line()
    assert db_count(world, "contacts") == 0


def test_a_file_with_classic_mac_line_ends_imports_and_an_encoding_error_is_located(
    world: Engine, tmp_path: Path
) -> None:
    """Lines ending in a lone CR are read too. The text is then decoded ahead in chunks, so an
    encoding error names the first row not read ("at or after") and the exact bad byte."""
    ok = tmp_path / "contacts.csv"
    ok.write_bytes(contacts_bytes([contact_cells(1), contact_cells(2)], newline="\r"))
    assert (import_path(world, "contacts", ok).inserted, db_count(world, "contacts")) == (2, 2)

    rows = [contact_cells(n) for n in range(3, 503)]  # row n - 1 holds C<n>, ~25 kB
    data = contacts_bytes(rows, newline="\r")
    bad = data.replace(
        b"C400,CH1,2027-01-04T10:00:00Z,DAT-A,NFA", b"C400,CH1,2027-01-04T10:00:00Z,DAT-A,\xff"
    )
    path = tmp_path / "mac.csv"
    path.write_bytes(bad)

    summary = import_path(world, "contacts", path)

    assert summary.error is not None
    found = re.fullmatch(
        rf"{re.escape(str(path))}: not valid UTF-8 at or after row (\d+) \(byte offset (\d+)\); "
        r"rows 2\.\.(\d+) were processed \(imported or rejected\), nothing after",
        summary.error,
    )
    assert found is not None, summary.error
    first_unread, offset, last_read = (int(g) for g in found.groups())
    assert offset == bad.index(b"\xff")
    assert first_unread == last_read + 1
    assert 2 <= last_read < 399
    assert db_count(world, "contacts") == 2 + last_read - 1
    assert summary.read == summary.inserted == last_read - 1


def test_a_mid_file_csv_error_commits_the_rows_before_it_and_says_where(
    world: Engine, tmp_path: Path
) -> None:
    rows = [contact_cells(n) for n in range(2, 152)]
    rows[140 - 2] = contact_cells(140, outcome='"' + "x" * 140_000 + '"')  # over csv's limit
    path = tmp_path / "contacts.csv"
    path.write_bytes(contacts_bytes(rows))

    summary = import_path(world, "contacts", path)

    assert summary.error == (
        f"{path}: row 140: malformed CSV (field larger than field limit (131072)); "
        "rows 2..139 were processed (imported or rejected), nothing after"
    )
    assert (summary.read, summary.inserted) == (138, 138)
    assert db_count(world, "contacts") == 138


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
    first = load(
        world,
        tmp_path,
        "contacts",
        [
            {
                "contact_id": "C1",
                "child_id": "CH1",
                "received_at": "2027-01-04T10:00:00Z",
                "team_id": "DAT-A",
                "outcome": "NFA",
                "outcome_at": "2027-01-04T12:00:00Z",
            },
        ],
    )
    assert first.inserted == 1
    narrow = ("contact_id", "child_id", "received_at", "team_id", "worker_id")
    later = load(
        world,
        tmp_path,
        "contacts",
        [
            {
                "contact_id": "C1",
                "child_id": "CH1",
                "received_at": "2027-01-04T10:00:00Z",
                "team_id": "DAT-A",
                "worker_id": "W9",
            },
        ],
        header=narrow,
    )

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


def test_the_first_of_two_rows_with_the_same_id_in_one_file_wins_and_later_ones_are_rejected(
    world: Engine, tmp_path: Path
) -> None:
    rows = [
        contact_row(1),
        contact_row(2),
        {**contact_row(1), "outcome": "Advice", "outcome_at": "2027-01-04T12:00:00Z"},
        contact_row(2),  # identical repeat
    ]

    summary = load(world, tmp_path, "contacts", rows)
    stored = db_rows(world, "contacts")
    again = load(world, tmp_path, "contacts", rows, ingested_at=LATER)

    for run in (summary, again):
        assert (run.read, run.rejected) == (4, 2)
        assert counts_add_up(run)
        assert [(r.row, r.record_id, r.column, r.reason) for r in run.rejects] == [
            (4, "C1", "contact_id", "duplicate id: row 2 already carries it"),
            (5, "C2", "contact_id", "duplicate id: row 3 already carries it"),
        ]
    assert (summary.inserted, again.unchanged, again.updated) == (2, 2, 0)
    assert stored[("C1",)]["outcome"] is None
    assert stored[("C1",)]["outcome_at"] is None
    assert db_rows(world, "contacts") == stored


def test_a_duplicate_id_in_a_later_batch_is_rejected_and_a_reimport_is_idempotent(
    world: Engine, tmp_path: Path
) -> None:
    """Batches of 100: C5 (row 7) is in batch 1, its repeat (row 152) in batch 2; C120 and its
    repeat (rows 122 and 153) are both in batch 2."""
    rows = [contact_row(n) for n in range(150)]
    rows.append({**contact_row(5), "outcome_at": "2027-01-05T09:00:00Z"})
    rows.append({**contact_row(120), "outcome_at": "2027-01-05T10:00:00Z"})
    expected = [
        (152, "C5", "contact_id", "duplicate id: an earlier row of this file already carries it"),
        (153, "C120", "contact_id", "duplicate id: row 122 already carries it"),
    ]

    first = load(world, tmp_path, "contacts", rows)
    stored = db_rows(world, "contacts")
    again = load(world, tmp_path, "contacts", rows, ingested_at=LATER)
    # The first C5 now carries an outcome: it is updated, its repeat is still rejected.
    rows[5] = {**contact_row(5), "outcome_at": "2027-01-06T09:00:00Z"}
    third = load(world, tmp_path, "contacts", rows, ingested_at=datetime(2026, 3, 1, tzinfo=UTC))

    for run in (first, again, third):
        assert (run.read, run.rejected) == (152, 2)
        assert counts_add_up(run)
        assert [(r.row, r.record_id, r.column, r.reason) for r in run.rejects] == expected
    assert (first.inserted, first.updated, first.unchanged) == (150, 0, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 150)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 149)
    assert len(stored) == 150
    assert stored[("C5",)]["outcome_at"] is None
    assert stored[("C120",)]["outcome_at"] is None
    final = db_rows(world, "contacts")
    assert final[("C5",)]["outcome_at"] == z("2027-01-06T09:00:00Z")
    assert {k: v for k, v in final.items() if k != ("C5",)} == {
        k: v for k, v in stored.items() if k != ("C5",)
    }


def test_a_duplicate_attendance_row_is_rejected_naming_both_key_columns(
    world: Engine, tmp_path: Path
) -> None:
    rows = [
        {**attendance_row(1), "attended": "Y"},
        {**attendance_row(2), "attended": "N"},
        *({**attendance_row(9), "role": f"R{n}"} for n in range(100)),
        {**attendance_row(2), "attended": "Y"},  # row 104, batch 2
        {**attendance_row(1), "attended": "N"},  # row 105, batch 2
    ]

    summary = load(world, tmp_path, "strategy-attendance", rows)
    again = load(world, tmp_path, "strategy-attendance", rows, ingested_at=LATER)

    assert (summary.read, summary.inserted, summary.rejected) == (104, 3, 101)
    assert (again.unchanged, again.updated, again.rejected) == (3, 0, 101)
    for run in (summary, again):
        assert counts_add_up(run)
        assert {(r.column, r.record_id) for r in run.rejects} == {("discussion_id+agency", "D1")}
        assert run.rejects[0].reason == "duplicate id: row 4 already carries it"
        assert [r.row for r in run.rejects[-2:]] == [104, 105]
        assert {r.reason for r in run.rejects[-2:]} == {
            "duplicate id: an earlier row of this file already carries it"
        }
    stored = db_rows(world, "strategy-attendance")
    assert stored[("D1", "police")]["attended"] is False
    assert stored[("D1", "local_authority")]["attended"] is True
    assert stored[("D1", "health")]["role"] == "R0"


def test_an_import_that_reuses_an_earlier_stamp_still_updates_and_finds_duplicates(
    world: Engine, tmp_path: Path
) -> None:
    """Rows stored with the same ``ingested_at`` by an earlier run are not duplicates."""
    rows = [contact_row(n) for n in range(150)]
    load(world, tmp_path, "contacts", rows)
    rows[3] = {**contact_row(3), "outcome_at": "2027-01-05T09:00:00Z"}
    rows.append({**contact_row(3), "outcome_at": "2027-01-06T09:00:00Z"})  # batch 2
    rows.append(contact_row(150))

    summary = load(world, tmp_path, "contacts", rows)  # the same INGESTED stamp

    assert (summary.inserted, summary.updated, summary.unchanged, summary.rejected) == (
        1,
        1,
        149,
        1,
    )
    assert [(r.row, r.reason) for r in summary.rejects] == [
        (152, "duplicate id: an earlier row of this file already carries it")
    ]
    assert db_rows(world, "contacts")[("C3",)]["outcome_at"] == z("2027-01-05T09:00:00Z")


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


def read_rejects(path: Path) -> list[list[str]]:
    """The rows of a rejects file after checking its header."""
    with path.open(encoding="utf-8", newline="") as handle:
        written = list(csv.reader(handle))
    assert written[0] == ["file", "row", "record_id", "column", "reason"]
    return written[1:]


def import_with_rejects(
    engine: Engine,
    tmp_path: Path,
    kind: str,
    rows: Sequence[Mapping[str, object]],
    *,
    ingested_at: datetime = INGESTED,
) -> ImportSummary:
    """Like ``load``, streaming rejects to ``reports/<kind>.rejects.csv``."""
    path = write_csv(tmp_path / f"{kind}.csv", rows, FILE_SPECS[kind].column_names)
    return import_csv(
        engine,
        kind,
        path,
        ctx=ParseContext(tz=LONDON, team_ids=load_team_ids(engine)),
        ingested_at=ingested_at,
        batch_size=100,
        rejects_path=rejects_path_for(path, tmp_path / "reports"),
    )


def test_the_rejects_file_lists_file_row_record_column_and_reason(
    world: Engine, tmp_path: Path
) -> None:
    rows = [
        contact_row(1),
        {**contact_row(2), "outcome_at": "soon", "source": "ZZ"},
        {**contact_row(3), "contact_id": ""},
    ]

    summary = import_with_rejects(world, tmp_path, "contacts", rows)

    target = tmp_path / "reports" / "contacts.rejects.csv"
    assert summary.rejects_path == target
    written = read_rejects(target)
    assert [r[:4] for r in written] == [
        ["contacts.csv", "3", "C2", "outcome_at"],
        ["contacts.csv", "3", "C2", "source"],
        ["contacts.csv", "4", "", "contact_id"],
    ]
    assert (
        written[0][4]
        == "malformed datetime (4 characters, not shown): expected ISO 8601 date and time"
    )
    assert written[1][4] == "unknown source code 'ZZ'"
    assert written[2][4] == "required value is empty"
    assert (summary.rejected, summary.problems) == (2, 3)
    assert [[r.row, r.record_id, r.column, r.reason] for r in summary.rejects] == [
        [int(w[1]), *w[2:]] for w in written
    ]


def test_a_clean_import_removes_a_stale_rejects_file_and_without_a_path_none_is_written(
    world: Engine, tmp_path: Path
) -> None:
    bad = import_with_rejects(
        world, tmp_path, "contacts", [contact_row(1), {**contact_row(2), "team_id": "X"}]
    )
    stale = bad.rejects_path
    assert stale is not None
    assert stale.exists()

    clean = import_with_rejects(
        world, tmp_path, "contacts", [contact_row(1), contact_row(2)], ingested_at=LATER
    )
    quiet = load(world, tmp_path, "contacts", [{**contact_row(3), "team_id": "X"}])

    assert clean.rejects_path is None
    assert not stale.exists()
    assert db_keys(world, "contacts") == {("C1",), ("C2",)}
    assert (quiet.rejected, len(quiet.rejects), quiet.rejects_path) == (1, 1, None)
    assert not stale.exists()


def test_rejects_stream_to_the_file_in_row_order_and_only_the_first_thousand_stay_in_memory(
    world: Engine, tmp_path: Path
) -> None:
    """1,500 attendance rows, batches of 100: every 3rd row names an unknown discussion (found
    when its batch is written), every 3rd has a bad boolean (found when the row is read), and
    rows 1,202 on are all bad booleans (no batch to write: rejects alone fill the buffer)."""
    discussions = [{**discussion_row(0), "discussion_id": f"D{n:04}"} for n in range(1500)]
    assert load(world, tmp_path, "strategy-discussions", discussions).rejected == 0
    rows: list[dict[str, object]] = []
    for n in range(1500):
        row: dict[str, object] = {"discussion_id": f"D{n:04}", "agency": "police", "attended": "Y"}
        if n % 3 == 1 or n >= 1200:
            row["attended"] = "perhaps"
        elif n % 3 == 2:
            row["discussion_id"] = f"X{n:04}"
        rows.append(row)
    bad_rows = [n + 2 for n in range(1500) if n % 3 or n >= 1200]

    summary = import_with_rejects(world, tmp_path, "strategy-attendance", rows)

    assert summary.rejected == summary.problems == len(bad_rows) == 1100
    assert summary.inserted == 400
    assert counts_add_up(summary)
    assert summary.rejects_path is not None
    written = read_rejects(summary.rejects_path)
    assert [int(r[1]) for r in written] == bad_rows
    assert len(summary.rejects) == MAX_REJECTS_KEPT == 1000
    assert [r.row for r in summary.rejects] == bad_rows[:1000]
    assert {r[3] for r in written} == {"attended", "discussion_id"}


# --- what reasons may show ---------------------------------------------------------------------

FREE_TEXT = "Mum says Jane Smith hit him"
SECRET_WORDS = ("Mum", "Jane", "Smith", "hit him")

#: Every column whose parser could echo a value back (free-text columns never do).
NOT_FREE_TEXT = [
    (kind, col.name)
    for kind, spec in FILE_SPECS.items()
    for col in spec.columns
    if col.name
    not in {"team_name", "manager_name", "service_manager_name", "outcome", "decision", "role"}
]


#: Something else wrong with the row, so that it is rejected even when the free text is a valid id.
EXTRA_PROBLEM: Mapping[str, dict[str, object]] = {
    "teams": {"manager_email": "x"},
    "strategy-attendance": {"discussion_id": "D-NONE"},
}


def assert_nothing_shown(summary: ImportSummary, *texts: str) -> None:
    shown_text = "\n".join(
        [f"{r.record_id} {r.column} {r.reason}" for r in summary.rejects]
        + [summary.rejects_path.read_text(encoding="utf-8") if summary.rejects_path else ""]
        + list(texts)
    )
    for word in SECRET_WORDS:
        assert word not in shown_text


@pytest.mark.parametrize(
    ("kind", "column"), NOT_FREE_TEXT, ids=[f"{k}-{c}" for k, c in NOT_FREE_TEXT]
)
def test_free_text_in_a_structured_column_never_reaches_a_reason_or_the_rejects_file(
    world: Engine, tmp_path: Path, kind: str, column: str
) -> None:
    """Where the free text is in the id column, the record id is blanked."""
    spec = FILE_SPECS[kind]
    extra = EXTRA_PROBLEM.get(kind, {"team_id": "DAT-X"})
    bad = {**VALID[kind](9), **extra, column: FREE_TEXT}

    summary = import_with_rejects(world, tmp_path, kind, [VALID[kind](1), bad])

    assert summary.rejected == 1, summary.rejects
    assert_nothing_shown(summary)
    assert {r.record_id for r in summary.rejects} <= {"", str(bad[spec.key[0]])}
    if column == spec.key[0]:
        assert {r.record_id for r in summary.rejects} == {""}


@pytest.mark.parametrize(
    ("column", "reason"),
    [
        ("received_at", "malformed datetime (27 characters, not shown): expected ISO 8601"),
        ("outcome_at", "malformed datetime (27 characters, not shown): expected ISO 8601"),
        ("team_id", "unknown team (27 characters, not shown): import teams.csv first"),
        ("source", "unknown source code (27 characters, not shown)"),
    ],
)
def test_a_reason_says_how_long_a_value_it_does_not_show_is(
    world: Engine, tmp_path: Path, column: str, reason: str
) -> None:
    summary = load(world, tmp_path, "contacts", [{**contact_row(1), column: FREE_TEXT}])

    assert [r.column for r in summary.rejects] == [column]
    assert summary.rejects[0].reason.startswith(reason)


@pytest.mark.parametrize(
    ("kind", "column", "reason"),
    [
        ("s47", "start_date", "malformed date (27 characters, not shown)"),
        ("strategy-attendance", "agency", "unknown agency: expected one of"),
        ("strategy-attendance", "attended", "malformed boolean: expected Y or N"),
        (
            "strategy-attendance",
            "discussion_id",
            "unknown discussion_id (27 characters, not shown)",
        ),
        ("assessments", "referral_id", "unknown referral_id (27 characters, not shown)"),
        ("teams", "manager_email", "malformed e-mail address (not shown)"),
    ],
)
def test_codes_references_booleans_and_emails_are_not_shown_either(
    world: Engine, tmp_path: Path, kind: str, column: str, reason: str
) -> None:
    summary = load(world, tmp_path, kind, [{**VALID[kind](1), column: FREE_TEXT}])

    assert [r.column for r in summary.rejects] == [column]
    assert summary.rejects[0].reason.startswith(reason)


def test_values_that_look_like_their_kind_are_still_quoted_but_a_near_miss_is_not(
    world: Engine, tmp_path: Path
) -> None:
    rows = [
        {**contact_row(1), "received_at": "2027-13-01 10:00:00+01:00"},
        {**contact_row(2), "team_id": "DAT-Z/2.x"},
        {**contact_row(3), "team_id": "DAT Z"},  # a space: could be a name
        {**contact_row(4), "received_at": "2027-01-04T10:00:00 (approx)"},
    ]

    summary = load(world, tmp_path, "contacts", rows)

    assert [r.reason for r in summary.rejects] == [
        "malformed datetime '2027-13-01 10:00:00+01:00'",
        "unknown team 'DAT-Z/2.x': import teams.csv first or fix the id",
        "unknown team (5 characters, not shown): import teams.csv first or fix the id",
        "malformed datetime (28 characters, not shown)",
    ]


def test_a_row_with_the_wrong_number_of_fields_and_a_free_text_id_shows_no_id(
    world: Engine, tmp_path: Path
) -> None:
    path = write_raw(
        tmp_path / "contacts.csv",
        [
            ["contact_id", "child_id", "received_at", "team_id"],
            [FREE_TEXT, "CH1", "2027-01-04T10:00:00Z"],
        ],
    )

    summary = import_path(world, "contacts", path)

    assert [(r.record_id, r.column) for r in summary.rejects] == [("", "*")]
