"""Shared parts of the commands that read the council's own returns and databases
(``import annex-a``, ``import cin-census``, ``sync``): which team their records get, the
rejects file that holds every reject, and the list of rejects printed under each report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from frontdoor import db
from frontdoor.bootstrap import App
from frontdoor.csvformat import SAFE_ID, shown
from frontdoor.import_report import RejectsFile, rejects_path_for
from frontdoor.importer import load_team_ids


class _Reject(Protocol):
    def line(self) -> str: ...


R = TypeVar("R")


def run_source_import(
    app: App, args: argparse.Namespace, importer: Callable[..., R], *, source: str, now: datetime
) -> R | None:
    """Run ``importer`` (:func:`~frontdoor.annex_a.import_annex_a` or
    :func:`~frontdoor.cin_census.import_cin_census`) on ``args.path`` as the CLI does: schema
    checked, team from ``args.team`` or the default (None, reason on stderr, when there is no
    usable one: exit 2), the app's zone and batch size, every reject to the rejects file
    beside the input or in ``args.report_dir``."""
    db.require_current_schema(app.engine)
    team = source_team(app, args.team, source=source)
    if team is None:
        return None
    with rejects_file(rejects_path_for(args.path, args.report_dir)) as spill:
        kwargs: dict[str, Any] = {
            "team_id": team,
            "now": now,
            "tz": app.settings.zone,
            "batch_size": app.settings.import_batch_size,
            "spill": spill,
        }
        return importer(app.engine, args.path, **kwargs)


def source_team(app: App, given: str | None, *, source: str) -> str | None:
    """``--team`` or ``FRONTDOOR_DEFAULT_TEAM``, if it is a known team. Otherwise the
    reason goes to stderr (naming the setting) and the result is None: the command exits 2.
    ``source`` names the input in the message, e.g. ``"Annex A"``."""
    team = given or app.settings.default_team
    if not team:
        sys.stderr.write(
            f"error: {source} has no team: give --team TEAM_ID or set "
            f"FRONTDOOR_DEFAULT_TEAM to the team that receives {source} records\n"
        )
        return None
    if team not in load_team_ids(app.engine):
        sys.stderr.write(
            f"error: team {shown(team, SAFE_ID)} (from --team or FRONTDOOR_DEFAULT_TEAM) is "
            "not in the teams table: import teams.csv first or fix the id\n"
        )
        return None
    return team


@contextmanager
def rejects_file(target: Path) -> Iterator[RejectsFile]:
    """A :class:`RejectsFile` at ``target``, finished (closed, or removed when empty) on
    leaving, also when the import fails part-way."""
    spill = RejectsFile(target)
    try:
        yield spill
    finally:
        spill.finish()


def print_rejects(
    out: Callable[[str], object],
    problems: int,
    rejects: Sequence[_Reject],
    *,
    limit: int,
    saved: RejectsFile | None = None,
) -> None:
    """``rejected (N):`` then the first ``limit`` reject lines, how many more there are, and
    the file that holds them all."""
    if not problems:
        return
    out(f"  rejected ({problems}):\n")
    for r in rejects[:limit]:
        out(f"    {r.line()}\n")
    if problems > limit:
        out(f"    ... and {problems - limit} more\n")
    if saved is not None and saved.written:
        out(f"  every reject: {saved.target}\n")
