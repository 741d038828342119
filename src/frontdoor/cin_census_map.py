"""Mapping one CIN census ``<Child>`` element to contract records (pure; no database).

Contract (docs/sources.md, "CIN census"):

- each ``<CINdetails>`` with a ``CINreferralDate`` becomes a referral with id
  ``{LAchildID}-{YYYYMMDD}``; ``received_at`` is 00:00 local time on that date and, because the
  census holds no decision time, ``decision_at`` is set equal to ``received_at`` (the referral
  rule is not judged from the census; see the docs) and ``decision`` comes from ``ReferralNFA``;
- each ``<Assessments>`` becomes an assessment ``{referral_id}-A{start YYYYMMDD}`` linked to it;
- each ``<Section47>`` becomes an S47 enquiry ``{referral_id}-S{start YYYYMMDD}`` with
  ``S47ActualStartDate`` (the date of the initiating strategy discussion) as ``start_date`` and
  no discussion row: the ICPC rule then starts at ``start_date``, as the contract allows.

Everything that cannot be mapped is a :class:`CinReject` naming the child's ordinal, its
``LAchildID`` (only when it looks like an id), the element path and the field. Reasons come from
the contract's value parsers, which never quote free text. Element names are matched on their
local name so a namespaced file reads like a plain one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

from frontdoor.clock import NonExistentLocalTime, localize
from frontdoor.csvformat import (
    FILE_SPECS,
    SAFE_ID,
    ParseContext,
    parse_bool,
    parse_date,
    parse_source,
    safe_record_id,
)

#: The contract kinds a census fills, in the order they must be written (references).
KINDS = ("referrals", "assessments", "s47")


def local_name(tag: str) -> str:
    """``Child`` for ``Child`` and for ``{namespace}Child``."""
    return tag.rsplit("}", 1)[-1]


def _children(elem: Element, name: str) -> Iterator[Element]:
    return (c for c in elem if local_name(c.tag) == name)


def _text(elem: Element, name: str) -> str | None:
    """The stripped text of the first sub-element ``name``; None when absent or blank."""
    for c in _children(elem, name):
        value = (c.text or "").strip()
        return value or None
    return None


@dataclass(frozen=True)
class Where:
    """Where a record came from: the child's ordinal in the file, its id and element path."""

    child_no: int
    child_id: str
    path: str


@dataclass(frozen=True)
class CinReject:
    """One record (``kind``: a contract kind, or ``child``) that was not imported, and why."""

    kind: str
    child_no: int
    child_id: str
    element: str
    field: str
    reason: str

    def line(self) -> str:
        """One line for a person: child, element, field, reason (never free text)."""
        who = f"LAchildID {self.child_id}" if self.child_id else "LAchildID not shown"
        return f"child {self.child_no} ({who}) {self.element}, {self.field}: {self.reason}"


@dataclass
class MappedChild:
    """The records and rejects of one ``<Child>``; ``records[kind]`` in document order."""

    records: dict[str, list[tuple[Where, dict[str, Any]]]] = field(
        default_factory=lambda: {k: [] for k in KINDS}
    )
    rejects: list[CinReject] = field(default_factory=list)
    referrals_timed: int = 0  # referrals whose times were set from the date alone


class _Bad(Exception):
    """A field that cannot be mapped: (field, reason)."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(field_name, reason)
        self.field_name = field_name
        self.reason = reason


def _date(elem: Element, name: str, *, required: bool) -> date | None:
    raw = _text(elem, name)
    if raw is None:
        if required:
            raise _Bad(name, "required value is empty or missing")
        return None
    try:
        return parse_date(raw, _CTX)
    except ValueError as exc:
        raise _Bad(name, str(exc)) from None


def _optional(elem: Element, name: str, parse: Any) -> Any:
    raw = _text(elem, name)
    if raw is None:
        return None
    try:
        return parse(raw, _CTX)
    except ValueError as exc:
        raise _Bad(name, str(exc)) from None


# The parsers used here need no zone and no team list.
_CTX = ParseContext(tz=ZoneInfo("UTC"), team_ids=frozenset())


def _derived_id(base: str, suffix: str) -> str:
    value = f"{base}{suffix}"
    if not SAFE_ID.fullmatch(value):
        raise _Bad("LAchildID", "derived record id longer than 64 characters")
    return value


#: Census element for each contract column a row check can name (rejects name the element).
_ELEMENT_OF = {
    "authorised_date": "AssessmentAuthorisationDate",
    "icpc_date": "DateOfInitialCPC",
}


def _checked(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """Apply the contract's row checks for ``kind`` (e.g. authorisation before start)."""
    for check in FILE_SPECS[kind].checks:
        problem = check(values)
        if problem:
            column, reason = problem
            raise _Bad(_ELEMENT_OF.get(column, column), reason)
    return values


def map_child(elem: Element, child_no: int, *, team_id: str, tz: ZoneInfo) -> MappedChild:
    """Map one ``<Child>`` (``child_no``: 1-based ordinal in the file)."""
    out = MappedChild()
    idents = next(_children(elem, "ChildIdentifiers"), None)
    raw_id = _text(idents, "LAchildID") if idents is not None else None
    child_id = safe_record_id(raw_id or "")
    base = f"Child[{child_no}]"
    if not child_id:
        reason = (
            "required value is empty or missing"
            if raw_id is None
            else f"not a usable id ({len(raw_id)} characters, not shown)"
        )
        blocks = sum(1 for _ in _children(elem, "CINdetails"))
        out.rejects.append(
            CinReject(
                "child",
                child_no,
                "",
                f"{base}/ChildIdentifiers",
                "LAchildID",
                f"{reason}; the child's {blocks} CINdetails block(s) were not imported",
            )
        )
        return out
    for k, details in enumerate(_children(elem, "CINdetails"), start=1):
        path = f"{base}/CINdetails[{k}]"
        _map_details(out, details, Where(child_no, child_id, path), team_id=team_id, tz=tz)
    return out


def _map_details(
    out: MappedChild, details: Element, where: Where, *, team_id: str, tz: ZoneInfo
) -> None:
    child_id = where.child_id
    try:
        referred = _date(details, "CINreferralDate", required=True)
        assert referred is not None
        referral_id = _derived_id(child_id, f"-{referred:%Y%m%d}")
        try:
            received = localize(datetime.combine(referred, time(0)), tz)
        except NonExistentLocalTime:
            raise _Bad("CINreferralDate", f"00:00 does not exist in {tz.key}") from None
        source = _optional(details, "ReferralSource", parse_source)
        nfa = _optional(details, "ReferralNFA", parse_bool)
    except _Bad as bad:
        out.rejects.append(
            CinReject("referrals", where.child_no, child_id, where.path, bad.field_name, bad.reason)
        )
        # Its assessments and S47s cannot be linked or named: each is rejected too, by name.
        for kind, tag in (("assessments", "Assessments"), ("s47", "Section47")):
            for m, _block in enumerate(_children(details, tag), start=1):
                out.rejects.append(
                    CinReject(
                        kind,
                        where.child_no,
                        child_id,
                        f"{where.path}/{tag}[{m}]",
                        "CINreferralDate",
                        "not imported: the referral it belongs to was rejected",
                    )
                )
        return
    decision = None if nfa is None else ("NFA" if nfa else "Further action")
    out.records["referrals"].append(
        (
            where,
            {
                "referral_id": referral_id,
                "child_id": child_id,
                "received_at": received,
                "team_id": team_id,
                "contact_id": None,
                "source": source,
                "decision": decision,
                # No decision time in the census: see the module docstring and docs/sources.md.
                "decision_at": received,
                "untimed": True,
            },
        )
    )
    out.referrals_timed += 1
    for m, block in enumerate(_children(details, "Assessments"), start=1):
        at = Where(where.child_no, child_id, f"{where.path}/Assessments[{m}]")
        try:
            start = _date(block, "AssessmentActualStartDate", required=True)
            assert start is not None
            values = {
                "assessment_id": _derived_id(referral_id, f"-A{start:%Y%m%d}"),
                "child_id": child_id,
                "team_id": team_id,
                "referral_id": referral_id,
                "start_date": start,
                "authorised_date": _date(block, "AssessmentAuthorisationDate", required=False),
            }
            out.records["assessments"].append((at, _checked("assessments", values)))
        except _Bad as bad:
            out.rejects.append(
                CinReject("assessments", at.child_no, child_id, at.path, bad.field_name, bad.reason)
            )
    for m, block in enumerate(_children(details, "Section47"), start=1):
        at = Where(where.child_no, child_id, f"{where.path}/Section47[{m}]")
        try:
            start = _date(block, "S47ActualStartDate", required=True)
            assert start is not None
            values = {
                "s47_id": _derived_id(referral_id, f"-S{start:%Y%m%d}"),
                "child_id": child_id,
                "team_id": team_id,
                "discussion_id": None,
                "start_date": start,
                "icpc_date": _date(block, "DateOfInitialCPC", required=False),
                "icpc_not_required": _optional(block, "ICPCnotRequired", parse_bool),
            }
            out.records["s47"].append((at, _checked("s47", values)))
        except _Bad as bad:
            out.rejects.append(
                CinReject("s47", at.child_no, child_id, at.path, bad.field_name, bad.reason)
            )
