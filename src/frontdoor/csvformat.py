"""The CSV files of the data contract: columns, value parsers and row checks (pure).

Each :class:`FileSpec` describes one import kind. Value parsers raise ``ValueError`` with a
reason that is safe to show and log (children's safeguarding data): a value is quoted only when
it matches a narrow pattern for its kind (:func:`shown`), so free text typed into a date, code
or id column never reaches a rejects file, a terminal or a log. Booleans, agencies and e-mail
addresses are never quoted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table

from frontdoor import models
from frontdoor.clock import NonExistentLocalTime, localize
from frontdoor.rules import AGENCIES

SOURCE_CODES = frozenset(
    ["1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4"]
    + ["5A", "5B", "5C", "5D", "6", "7", "8", "9", "10"]
)
_TRUE = frozenset(["y", "yes", "true", "1"])
_FALSE = frozenset(["n", "no", "false", "0"])
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_DMY = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
_YMD = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ParseContext:
    """What value parsers need besides the text: the local zone and the known team ids."""

    tz: ZoneInfo
    team_ids: frozenset[str]


Parser = Callable[[str, ParseContext], Any]


#: Values that may be quoted back: datetimes and dates (digits and separators only) ...
SAFE_DATETIME = re.compile(r"[0-9:/+.TZtz \-]{1,35}")
#: ... and ids, team ids and source codes (one word of letters, digits and ``_-./``).
SAFE_ID = re.compile(r"[A-Za-z0-9_\-./]{1,64}")


def shown(value: str, safe: re.Pattern[str]) -> str:
    """``'value'`` when the whole value matches ``safe``, else only its length.

    For reject reasons: a value that does not look like what the column expects may be free
    text about a child, so it is never repeated.
    """
    if safe.fullmatch(value):
        return f"'{value}'"
    n = len(value)
    return f"({n} character{'' if n == 1 else 's'}, not shown)"


def safe_record_id(value: str) -> str:
    """``value`` when it looks like an id (:data:`SAFE_ID`), else ``""`` (not shown)."""
    return value if SAFE_ID.fullmatch(value) else ""


def parse_id(raw: str, _ctx: ParseContext) -> str:
    """A stable record id: non-blank, at most 64 characters, no surrounding spaces kept."""
    value = raw.strip()
    if len(value) > 64:
        raise ValueError("id longer than 64 characters")
    return value


def text_parser(max_len: int) -> Parser:
    """A parser for free text of at most ``max_len`` characters (the database column's size),
    trimmed; the text itself is never quoted back in messages."""

    def parse_text(raw: str, _ctx: ParseContext) -> str:
        value = raw.strip()
        if len(value) > max_len:
            raise ValueError(f"longer than {max_len} characters")
        return value

    return parse_text


parse_text = text_parser(200)
outcome_text = text_parser(100)


def parse_datetime(raw: str, ctx: ParseContext) -> datetime:
    """ISO 8601 date and time; without an offset it is local time in ``ctx.tz``.

    A local time in the spring-forward gap is refused; one in the repeated autumn hour is read
    as its first occurrence. Returns aware UTC.
    """
    s = raw.strip()
    if len(s) < 16 or s[10] not in "Tt ":
        raise ValueError(
            f"malformed datetime {shown(s, SAFE_DATETIME)}: expected ISO 8601 date and time"
        )
    try:
        parsed = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"malformed datetime {shown(s, SAFE_DATETIME)}") from None
    if parsed.tzinfo is None:
        try:
            return localize(parsed, ctx.tz)
        except NonExistentLocalTime:
            value = shown(s, SAFE_DATETIME)
            raise ValueError(
                f"local time {value} does not exist in {ctx.tz.key} (clocks go forward)"
            ) from None
    return parsed.astimezone(UTC)


def parse_date(raw: str, _ctx: ParseContext) -> date:
    """``YYYY-MM-DD`` or ``DD/MM/YYYY``."""
    s = raw.strip()
    try:
        if _YMD.match(s):
            return date.fromisoformat(s)
        m = _DMY.match(s)
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        pass
    raise ValueError(f"malformed date {shown(s, SAFE_DATETIME)}: expected YYYY-MM-DD or DD/MM/YYYY")


def parse_bool(raw: str, _ctx: ParseContext) -> bool:
    """Y/N, yes/no, true/false, 1/0 in any case."""
    s = raw.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError("malformed boolean: expected Y or N")


def parse_source(raw: str, _ctx: ParseContext) -> str:
    """An Annex A / CIN census source code (1A..10, 5D)."""
    s = raw.strip().upper()
    if s not in SOURCE_CODES:
        raise ValueError(f"unknown source code {shown(raw.strip(), SAFE_ID)}")
    return s


def parse_agency(raw: str, _ctx: ParseContext) -> str:
    """One of the contract's agencies."""
    s = raw.strip().lower()
    if s not in AGENCIES:
        raise ValueError(f"unknown agency: expected one of {', '.join(AGENCIES)}")
    return s


def parse_team(raw: str, ctx: ParseContext) -> str:
    """A team id that exists in the teams table."""
    s = raw.strip()
    if s not in ctx.team_ids:
        raise ValueError(f"unknown team {shown(s, SAFE_ID)}: import teams.csv first or fix the id")
    return s


def parse_email(raw: str, _ctx: ParseContext) -> str:
    """A single e-mail address."""
    s = raw.strip()
    if len(s) > 320 or not _EMAIL.match(s):
        raise ValueError("malformed e-mail address (not shown)")
    return s


@dataclass(frozen=True)
class Col:
    """One CSV column: its parser and whether a value is required."""

    name: str
    parse: Parser
    required: bool = False
    header_required: bool | None = None  # defaults to ``required``

    @property
    def must_exist(self) -> bool:
        """Whether the file is refused when the column is absent."""
        return self.required if self.header_required is None else self.header_required


Check = Callable[[Mapping[str, Any]], tuple[str, str] | None]


def _not_before(later: str, earlier: str, what: str) -> Check:
    def check(values: Mapping[str, Any]) -> tuple[str, str] | None:
        a, b = values.get(later), values.get(earlier)
        if a is not None and b is not None and a < b:
            return later, f"{later} is before {earlier} ({what})"
        return None

    return check


@dataclass(frozen=True)
class Reference:
    """A column whose value must exist as a key of another table."""

    column: str
    table: Table
    key: str
    hint: str


@dataclass(frozen=True)
class FileSpec:
    """An import kind: its table, key columns, columns, row checks and references."""

    kind: str
    table: Table
    key: tuple[str, ...]
    columns: tuple[Col, ...]
    checks: tuple[Check, ...] = ()
    references: tuple[Reference, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        """All contract columns, in contract order."""
        return tuple(c.name for c in self.columns)


def _specs() -> dict[str, FileSpec]:
    ident = parse_id
    teams = FileSpec(
        "teams",
        models.table_of(models.Team),
        ("team_id",),
        (
            Col("team_id", ident, True),
            Col("team_name", parse_text, True),
            Col("manager_name", parse_text, True),
            Col("manager_email", parse_email, True),
            Col("service_manager_name", parse_text, True),
            Col("service_manager_email", parse_email, True),
        ),
    )
    contacts = FileSpec(
        "contacts",
        models.table_of(models.Contact),
        ("contact_id",),
        (
            Col("contact_id", ident, True),
            Col("child_id", ident, True),
            Col("received_at", parse_datetime, True),
            Col("team_id", parse_team, True),
            Col("source", parse_source),
            Col("worker_id", ident),
            Col("outcome", outcome_text),
            Col("outcome_at", parse_datetime),
        ),
        checks=(_not_before("outcome_at", "received_at", "an outcome cannot precede receipt"),),
    )
    referrals = FileSpec(
        "referrals",
        models.table_of(models.Referral),
        ("referral_id",),
        (
            Col("referral_id", ident, True),
            Col("child_id", ident, True),
            Col("received_at", parse_datetime, True),
            Col("team_id", parse_team, True),
            Col("contact_id", ident),
            Col("source", parse_source),
            Col("decision", outcome_text),
            Col("decision_at", parse_datetime),
        ),
        checks=(_not_before("decision_at", "received_at", "a decision cannot precede receipt"),),
    )
    discussions = FileSpec(
        "strategy-discussions",
        models.table_of(models.StrategyDiscussion),
        ("discussion_id",),
        (
            Col("discussion_id", ident, True),
            Col("child_id", ident, True),
            Col("held_at", parse_datetime, True),
            Col("team_id", parse_team, True),
            Col("referral_id", ident),
            Col("s47_initiated", parse_bool),
        ),
    )
    attendance = FileSpec(
        "strategy-attendance",
        models.table_of(models.StrategyAttendance),
        ("discussion_id", "agency"),
        (
            Col("discussion_id", ident, True),
            Col("agency", parse_agency, True),
            Col("attended", parse_bool, True),
            Col("role", parse_text),
        ),
        references=(
            Reference(
                "discussion_id",
                discussions.table,
                "discussion_id",
                "import strategy-discussions first",
            ),
        ),
    )
    s47 = FileSpec(
        "s47",
        models.table_of(models.S47Enquiry),
        ("s47_id",),
        (
            Col("s47_id", ident, True),
            Col("child_id", ident, True),
            Col("team_id", parse_team, True),
            Col("discussion_id", ident),
            Col("start_date", parse_date, True),
            Col("icpc_date", parse_date),
            Col("icpc_not_required", parse_bool),
        ),
        checks=(_not_before("icpc_date", "start_date", "an ICPC cannot precede the enquiry"),),
        references=(
            Reference(
                "discussion_id",
                discussions.table,
                "discussion_id",
                "import strategy-discussions first",
            ),
        ),
    )
    assessments = FileSpec(
        "assessments",
        models.table_of(models.Assessment),
        ("assessment_id",),
        (
            Col("assessment_id", ident, True),
            Col("child_id", ident, True),
            Col("team_id", parse_team, True),
            Col("referral_id", ident, True),
            Col("start_date", parse_date, True),
            Col("authorised_date", parse_date),
        ),
        checks=(
            _not_before("authorised_date", "start_date", "authorisation cannot precede the start"),
        ),
        references=(
            Reference("referral_id", referrals.table, "referral_id", "import referrals first"),
        ),
    )
    return {
        s.kind: s for s in (teams, contacts, referrals, discussions, attendance, s47, assessments)
    }


FILE_SPECS: Mapping[str, FileSpec] = _specs()

#: The order in which a full set of files must be imported (references point backwards).
IMPORT_ORDER: tuple[str, ...] = (
    "teams",
    "contacts",
    "referrals",
    "strategy-discussions",
    "strategy-attendance",
    "s47",
    "assessments",
)

#: The file name ``frontdoor generate`` writes for each kind.
FILE_NAMES: Mapping[str, str] = {
    "teams": "teams.csv",
    "contacts": "contacts.csv",
    "referrals": "referrals.csv",
    "strategy-discussions": "strategy_discussions.csv",
    "strategy-attendance": "strategy_attendance.csv",
    "s47": "s47_enquiries.csv",
    "assessments": "assessments.csv",
}
