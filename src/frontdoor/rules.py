"""Rules as data: the schema of ``rules/*.toml`` and its strict loader.

A rule file holds one or more ``[[rule]]`` tables. Two kinds exist:

* ``kind = "timescale"``: a record of ``record`` kind must be completed within ``limit`` on a
  ``clock`` (``clock-hours``, ``working-hours`` or ``working-days``). What starts the clock and
  what completes the record is fixed per record kind by the data contract (see
  :data:`TIMESCALE_RECORDS`).
* ``kind = "attendance"``: a strategy discussion held in the last ``lookback_days`` must have
  every agency in ``required_agencies`` with ``attended = Y``.

Unknown keys, bad limits, unknown agencies, unknown record kinds and duplicate ids fail with a
:class:`RuleError` naming the file and the rule.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from frontdoor.clock import OfficeHours
from frontdoor.errors import RuleError

AGENCIES = ("local_authority", "police", "health", "education", "other")
Agency = Literal["local_authority", "police", "health", "education", "other"]


class RecordKind(StrEnum):
    """Record kinds a rule can apply to."""

    CONTACT = "contact"
    REFERRAL = "referral"
    STRATEGY_DISCUSSION = "strategy_discussion"
    S47_ENQUIRY = "s47_enquiry"
    ASSESSMENT = "assessment"


class ClockKind(StrEnum):
    """How a limit is counted (data-contract.md, "Timescales")."""

    CLOCK_HOURS = "clock-hours"
    WORKING_HOURS = "working-hours"
    WORKING_DAYS = "working-days"


#: What starts and what completes each record kind's clock (fixed by the data contract).
TIMESCALE_RECORDS: Mapping[RecordKind, str] = {
    RecordKind.CONTACT: "received_at -> outcome_at",
    RecordKind.REFERRAL: "received_at -> decision_at",
    RecordKind.S47_ENQUIRY: "initiating discussion held_at (else start_date) -> icpc_date "
    "(or icpc_not_required = Y)",
    RecordKind.ASSESSMENT: "linked referral received_at -> authorised_date",
}

_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"
_OFFICE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TimescaleRule(_Strict):
    """A record must be completed within a limit on a clock."""

    id: Annotated[str, Field(pattern=_ID, max_length=64)]
    kind: Literal["timescale"]
    # The values of RecordKind and ClockKind, as Literals so that strict validation accepts the
    # TOML strings. Compare against the plain strings (mypy checks them against these types).
    record: Literal["contact", "referral", "s47_enquiry", "assessment"]
    clock: Literal["clock-hours", "working-hours", "working-days"]
    limit: Annotated[int, Field(gt=0, le=10_000)]
    description: str = ""
    office_hours: str | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _check_clock(self) -> TimescaleRule:
        if self.record in ("s47_enquiry", "assessment") and self.clock != "working-days":
            # Their clocks start on a date and complete on a date (data contract), so only a
            # date-based limit is meaningful.
            raise ValueError(f"record {self.record!r} needs clock = 'working-days'")
        return self

    @model_validator(mode="after")
    def _check_office_hours(self) -> TimescaleRule:
        if self.office_hours is not None:
            if self.clock != "working-hours":
                raise ValueError("office_hours is only allowed with clock = 'working-hours'")
            parse_office_hours(self.office_hours)
        return self

    @property
    def office(self) -> OfficeHours | None:
        """The parsed office-hours window, if any."""
        return None if self.office_hours is None else parse_office_hours(self.office_hours)

    @property
    def limit_delta(self) -> timedelta:
        """The limit as a duration (hour clocks only)."""
        return timedelta(hours=self.limit)

    @property
    def limit_text(self) -> str:
        """The limit in words: ``24 clock hours``, ``8 working hours``, ``1 working day``."""
        unit = {
            "clock-hours": "clock hour",
            "working-hours": "working hour",
            "working-days": "working day",
        }[self.clock]
        return f"{self.limit} {unit}{'' if self.limit == 1 else 's'}"

    def summary(self) -> str:
        """One line: the rule, its clock and what it measures, for people reading output."""
        clock = self.limit_text
        if self.office_hours:
            clock += f" ({self.office_hours} on working days)"
        return f"{self.id}: {TIMESCALE_RECORDS[RecordKind(self.record)]} within {clock}"


class AttendanceRule(_Strict):
    """Every required agency must have attended a strategy discussion."""

    id: Annotated[str, Field(pattern=_ID, max_length=64)]
    kind: Literal["attendance"]
    record: Literal["strategy_discussion"]
    required_agencies: Annotated[list[Agency], Field(min_length=1)]
    lookback_days: Annotated[int, Field(gt=0, le=3660)] = 30
    description: str = ""
    enabled: bool = True

    @model_validator(mode="after")
    def _no_duplicate_agencies(self) -> AttendanceRule:
        if len(set(self.required_agencies)) != len(self.required_agencies):
            raise ValueError("required_agencies lists an agency twice")
        return self

    def summary(self) -> str:
        """One line: the rule and the agencies it requires."""
        return (
            f"{self.id}: strategy discussions held in the last {self.lookback_days} days "
            f"attended by {', '.join(self.required_agencies)}"
        )


Rule = Annotated[TimescaleRule | AttendanceRule, Field(discriminator="kind")]
_RULE_ADAPTER: TypeAdapter[TimescaleRule | AttendanceRule] = TypeAdapter(Rule)


def parse_office_hours(value: str) -> OfficeHours:
    """Parse ``"HH:MM-HH:MM"`` (local time) into :class:`OfficeHours`."""
    m = _OFFICE.match(value)
    if not m:
        raise ValueError(f"office_hours must look like '09:00-17:00', got {value!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    try:
        return OfficeHours(time(h1, m1), time(h2, m2))
    except ValueError as exc:
        raise ValueError(f"office_hours {value!r}: {exc}") from None


def _describe(err: Mapping[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"] if p not in ("timescale", "attendance"))
    msg = str(err["msg"])
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    return f"{loc}: {msg}" if loc else msg


def parse_rules(data: Mapping[str, Any], *, source: str) -> list[TimescaleRule | AttendanceRule]:
    """Validate the parsed TOML of one rule file.

    Raises :class:`RuleError` listing every problem, each with ``source`` and the rule id (or
    its position when the id itself is missing).
    """
    unknown = set(data) - {"rule"}
    if unknown:
        raise RuleError(f"{source}: unknown top-level key(s) {sorted(unknown)}; expected [[rule]]")
    raw = data.get("rule", [])
    if not isinstance(raw, list) or not raw:
        raise RuleError(f"{source}: no [[rule]] tables found")
    rules: list[TimescaleRule | AttendanceRule] = []
    problems: list[str] = []
    for n, item in enumerate(raw, start=1):
        name = item.get("id") if isinstance(item, dict) else None
        label = f"rule {name!r}" if isinstance(name, str) else f"rule #{n}"
        try:
            rules.append(_RULE_ADAPTER.validate_python(item))
        except ValidationError as exc:
            problems += [f"{source}: {label}: {_describe(e)}" for e in exc.errors()]
    if problems:
        raise RuleError("\n".join(problems))
    return rules


def load_rules(rules_dir: Path) -> list[TimescaleRule | AttendanceRule]:
    """Load and validate every ``*.toml`` in ``rules_dir`` (sorted by file name).

    Returns the enabled and disabled rules alike; callers filter on ``enabled``. Raises
    :class:`RuleError` for a missing directory, unreadable TOML, an invalid rule or a rule id
    defined twice.
    """
    if not rules_dir.is_dir():
        raise RuleError(f"rules directory {rules_dir} does not exist (FRONTDOOR_RULES_DIR)")
    files = sorted(rules_dir.glob("*.toml"))
    if not files:
        raise RuleError(f"rules directory {rules_dir} holds no *.toml files")
    rules: list[TimescaleRule | AttendanceRule] = []
    seen: dict[str, Path] = {}
    problems: list[str] = []
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            parsed = parse_rules(data, source=str(path))
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{path}: invalid TOML: {exc}")
            continue
        except UnicodeDecodeError:
            problems.append(f"{path}: not valid UTF-8")
            continue
        except OSError as exc:
            problems.append(f"{path}: cannot read: {exc.strerror}")
            continue
        except RuleError as exc:
            problems.append(str(exc))
            continue
        for rule in parsed:
            if rule.id in seen:
                problems.append(f"{path}: rule {rule.id!r} is already defined in {seen[rule.id]}")
            seen[rule.id] = path
            rules.append(rule)
    if problems:
        raise RuleError("\n".join(problems))
    return rules
