"""Tests for the synthetic data generator (frontdoor.generate)."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from frontdoor.clock import england_calendar
from frontdoor.generate import GenerateSummary, generate_dataset

LONDON = ZoneInfo("Europe/London")
CAL = england_calendar(years=range(2024, 2029))

# Column names copied from docs/data-contract.md (not from the module under test).
CONTRACT = {
    "teams": ["team_id", "team_name", "manager_name", "manager_email", "service_manager_name",
              "service_manager_email"],
    "contacts": ["contact_id", "child_id", "received_at", "team_id", "source", "worker_id",
                 "outcome", "outcome_at"],
    "referrals": ["referral_id", "child_id", "received_at", "team_id", "contact_id", "source",
                  "decision", "decision_at"],
    "strategy_discussions": ["discussion_id", "child_id", "held_at", "team_id", "referral_id",
                             "s47_initiated"],
    "strategy_attendance": ["discussion_id", "agency", "attended", "role"],
    "s47_enquiries": ["s47_id", "child_id", "team_id", "discussion_id", "start_date",
                      "icpc_date", "icpc_not_required"],
    "assessments": ["assessment_id", "child_id", "team_id", "referral_id", "start_date",
                    "authorised_date"],
}  # fmt: skip

# 28 days over the spring DST change (29 March 2026), Good Friday and Easter Monday.
START = date(2026, 3, 16)
DAYS = 28


def read(summary: GenerateSummary, name: str) -> list[dict[str, str]]:
    with open(summary.paths[name], encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def dt(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> GenerateSummary:
    out = tmp_path_factory.mktemp("month")
    return generate_dataset(out, seed=7, start=START, days=DAYS, contacts_per_day=150,
                            calendar=CAL)  # fmt: skip


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> GenerateSummary:
    out = tmp_path_factory.mktemp("long")
    return generate_dataset(out, seed=11, start=date(2025, 1, 6), days=500, contacts_per_day=25,
                            calendar=CAL)  # fmt: skip


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    runs = {}
    for label, seed in (("a", 3), ("b", 3), ("c", 4)):
        s = generate_dataset(tmp_path / label, seed=seed, start=START, days=10,
                             contacts_per_day=60, calendar=CAL)  # fmt: skip
        runs[label] = {n: p.read_bytes() for n, p in s.paths.items()}
    assert runs["a"] == runs["b"]
    assert runs["a"]["contacts"] != runs["c"]["contacts"]


def test_headers_match_the_contract_and_counts_match_rows(month: GenerateSummary) -> None:
    assert set(month.paths) == set(CONTRACT)
    for name, columns in CONTRACT.items():
        with open(month.paths[name], encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == columns, name
        assert len(rows) - 1 == month.counts[name], name
        assert all(len(r) == len(columns) for r in rows), name


def test_teams_are_fictional_with_two_service_managers(month: GenerateSummary) -> None:
    teams = read(month, "teams")
    assert [t["team_id"] for t in teams] == [f"DAT-{c}" for c in "ABCDEF"]
    assert all(t["manager_email"].endswith("@example.org") for t in teams)
    assert len({t["service_manager_email"] for t in teams[:3]}) == 1
    assert len({t["service_manager_email"] for t in teams}) == 2


def check_export(summary: GenerateSummary) -> None:
    """Nothing after as_of; completions on or after receipt; links consistent."""
    as_of = summary.as_of
    last_day = as_of.astimezone(LONDON).date()
    contacts = {c["contact_id"]: c for c in read(summary, "contacts")}
    for c in contacts.values():
        received = dt(c["received_at"])
        assert received <= as_of
        assert received.utcoffset() == received.astimezone(LONDON).utcoffset()  # London offset
        if c["outcome_at"]:
            assert received <= dt(c["outcome_at"]) <= as_of
    referrals = {r["referral_id"]: r for r in read(summary, "referrals")}
    for r in referrals.values():
        contact = contacts[r["contact_id"]]
        assert (contact["outcome"], contact["child_id"], contact["team_id"]) == (
            "Referral", r["child_id"], r["team_id"])  # fmt: skip
        assert dt(contact["outcome_at"]) <= dt(r["received_at"]) <= as_of
        if r["decision_at"]:
            assert dt(r["received_at"]) <= dt(r["decision_at"]) <= as_of
    discussions = {s["discussion_id"]: s for s in read(summary, "strategy_discussions")}
    for s in discussions.values():
        assert dt(s["held_at"]) <= as_of
        if s["referral_id"]:
            assert dt(referrals[s["referral_id"]]["received_at"]) <= dt(s["held_at"])
    s47s = read(summary, "s47_enquiries")
    assert sorted(x["discussion_id"] for x in s47s) == sorted(
        k for k, s in discussions.items() if s["s47_initiated"] == "Y")  # fmt: skip
    for x in s47s:
        held = dt(discussions[x["discussion_id"]]["held_at"]).astimezone(LONDON).date()
        assert d(x["start_date"]) == held
        if x["icpc_date"]:
            assert held <= d(x["icpc_date"]) <= last_day
    for a in read(summary, "assessments"):
        ref_day = dt(referrals[a["referral_id"]]["received_at"]).astimezone(LONDON).date()
        assert ref_day <= d(a["start_date"]) <= last_day
        if a["authorised_date"]:
            assert d(a["start_date"]) <= d(a["authorised_date"]) <= last_day


def test_default_as_of_is_midnight_after_the_last_day(month: GenerateSummary) -> None:
    assert month.as_of == datetime(2026, 4, 13, 0, 0, tzinfo=LONDON).astimezone(UTC)
    check_export(month)


def test_an_earlier_as_of_cuts_records_and_leaves_completions_open(tmp_path: Path) -> None:
    as_of = datetime(2026, 3, 30, 11, 30, tzinfo=LONDON)  # the day after the clocks change
    s = generate_dataset(tmp_path, seed=5, start=START, days=DAYS, contacts_per_day=150,
                         as_of=as_of, calendar=CAL)  # fmt: skip
    assert s.as_of == as_of
    check_export(s)
    contacts = read(s, "contacts")
    assert max(dt(c["received_at"]) for c in contacts) > as_of - timedelta(hours=3)
    recent = [c for c in contacts if dt(c["received_at"]) > as_of - timedelta(hours=2)]
    assert any(not c["outcome_at"] for c in recent)  # still open at the export


def test_contacts_overdue_and_met_at_as_of(month: GenerateSummary) -> None:
    overdue = met = 0
    contacts = read(month, "contacts")
    for c in contacts:
        due = dt(c["received_at"]) + timedelta(hours=24)
        done = dt(c["outcome_at"]) if c["outcome_at"] else None
        if done is not None and done <= due:
            met += 1
        elif month.as_of > due:
            overdue += 1
    assert 0.02 <= overdue / len(contacts) <= 0.06
    assert met / len(contacts) > 0.9
    text_only = sum(1 for c in contacts if c["outcome"] and not c["outcome_at"])
    assert text_only < 0.01 * len(contacts)


def test_volumes_over_a_month(month: GenerateSummary) -> None:
    contacts = read(month, "contacts")
    per_day = Counter(dt(c["received_at"]).astimezone(LONDON).date() for c in contacts)
    all_days = [START + timedelta(days=i) for i in range(DAYS)]
    assert set(per_day) <= set(all_days)
    work = [per_day[x] for x in all_days if CAL.is_working_day(x)]
    off = [per_day[x] for x in all_days if not CAL.is_working_day(x)]
    assert len(off) == 10  # 4 weekends and the two Easter bank holidays
    work_mean, off_mean = sum(work) / len(work), sum(off) / len(off)
    assert 135 <= work_mean <= 165
    assert 0.2 <= off_mean / work_mean <= 0.4
    sources = Counter(c["source"] for c in contacts)
    assert sources.most_common(1)[0][0] == "6"
    assert 0.22 <= sources["6"] / len(contacts) <= 0.33
    assert {"2A", "3A", "1A", "5A", "4"} <= set(sources)
    assert 0.17 <= month.referrals / month.contacts <= 0.23
    assert 0.5 <= month.assessments / month.referrals <= 0.7
    hours = Counter(dt(c["received_at"]).astimezone(LONDON).hour for c in contacts)
    office = sum(n for h, n in hours.items() if 9 <= h < 17)
    assert 0.6 <= office / len(contacts) <= 0.95  # mostly office hours, not all


def test_strategy_attendance(month: GenerateSummary) -> None:
    rows = read(month, "strategy_attendance")
    assert {r["agency"] for r in rows} <= {"local_authority", "police", "health", "education",
                                           "other"}  # fmt: skip
    assert {r["attended"] for r in rows} <= {"Y", "N"}
    attended: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r["attended"] == "Y":
            attended[r["discussion_id"]].add(r["agency"])
    ids = [s["discussion_id"] for s in read(month, "strategy_discussions")]
    missing_police = sum(1 for i in ids if "police" not in attended[i])
    missing_health = sum(1 for i in ids if "health" not in attended[i])
    assert 0 < missing_police < 0.3 * len(ids)
    assert 0 < missing_health < 0.35 * len(ids)
    police_rows = {r["discussion_id"] for r in rows if r["agency"] == "police"}
    assert len(police_rows) < len(ids)  # some discussions have no police row at all


def test_re_referral_share_and_downstream_rates(long_run: GenerateSummary) -> None:
    referrals = sorted(read(long_run, "referrals"), key=lambda r: dt(r["received_at"]))
    seen: dict[str, list[datetime]] = defaultdict(list)
    again = 0
    for r in referrals:
        t = dt(r["received_at"])
        if any(t - timedelta(days=365) <= p < t for p in seen[r["child_id"]]):
            again += 1
        seen[r["child_id"]].append(t)
    assert 0.18 <= again / len(referrals) <= 0.26
    discussions = read(long_run, "strategy_discussions")
    linked = [s for s in discussions if s["referral_id"]]
    assert 0.2 <= len(linked) / len(referrals) <= 0.3
    assert 0.62 <= sum(s["s47_initiated"] == "Y" for s in discussions) / len(discussions) <= 0.78
    s47s = read(long_run, "s47_enquiries")
    with_icpc = sum(1 for x in s47s if x["icpc_date"])
    not_required = sum(1 for x in s47s if x["icpc_not_required"] == "Y")
    assert 0.3 <= with_icpc / len(s47s) <= 0.5
    assert 0.37 <= not_required / len(s47s) <= 0.53


def test_progress_is_reported_and_bad_arguments_rejected(tmp_path: Path) -> None:
    seen: list[int] = []
    s = generate_dataset(tmp_path, seed=1, start=START, days=5, contacts_per_day=20,
                         calendar=CAL, progress=seen.append)  # fmt: skip
    assert seen == sorted(seen)
    assert seen[-1] == s.contacts
    with pytest.raises(ValueError, match="aware"):
        generate_dataset(tmp_path, seed=1, start=START, days=1, contacts_per_day=1,
                         as_of=datetime(2026, 3, 17), calendar=CAL)  # fmt: skip
    with pytest.raises(ValueError, match=">= 0"):
        generate_dataset(tmp_path, seed=1, start=START, days=-1, contacts_per_day=1)


@pytest.mark.parametrize("change", [date(2026, 3, 29), date(2026, 10, 25)])
def test_dst_change_days_keep_local_dates_and_offsets(tmp_path: Path, change: date) -> None:
    s = generate_dataset(tmp_path, seed=2, start=change - timedelta(days=1), days=3,
                         contacts_per_day=400, calendar=CAL)  # fmt: skip
    check_export(s)
    on_the_day = [dt(c["received_at"]) for c in read(s, "contacts")
                  if dt(c["received_at"]).astimezone(LONDON).date() == change]  # fmt: skip
    assert len(on_the_day) > 50
    assert {t.utcoffset() for t in on_the_day} == {timedelta(0), timedelta(hours=1)}
    days = {dt(c["received_at"]).astimezone(LONDON).date() for c in read(s, "contacts")}
    assert days == {change - timedelta(days=1), change, change + timedelta(days=1)}
