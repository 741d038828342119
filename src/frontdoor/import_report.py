"""What an import reports: its counts, its rejects and the rejects file they are written to.

A :class:`Reject` is one problem with one row (row number with the header as row 1, column,
reason). An :class:`ImportSummary` holds the counts of one import, with
``read == inserted + updated + unchanged + rejected``, and keeps only the first
:data:`MAX_REJECTS_KEPT` rejects in memory. A :class:`RejectSink` streams every reject to the
rejects file (named by :func:`rejects_path_for`, columns :data:`REJECTS_HEADER`) in row order,
opening it on the first reject. A :class:`PendingRow` is a valid row waiting for its batch to
be written. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from frontdoor.errors import FileRefused

#: How many rejects an :class:`ImportSummary` keeps in memory; the rejects file has them all.
MAX_REJECTS_KEPT = 1000
REJECTS_HEADER = ("file", "row", "record_id", "column", "reason")


@dataclass(frozen=True)
class Reject:
    """One problem with one row. A row with several problems gives several rejects.

    ``record_id`` is the row's id when it looks like an id, else empty (never free text).
    """

    row: int
    record_id: str
    column: str
    reason: str


def _reject_order(r: Reject) -> tuple[int, str]:
    return r.row, r.column


@dataclass
class ImportSummary:
    """Counts of one import: ``read == inserted + updated + unchanged + rejected``.

    ``rejected`` counts rows and ``problems`` counts rejects (a row may have several); the
    rejects file (``rejects_path``) lists every problem, ``rejects`` only the first
    :data:`MAX_REJECTS_KEPT`, in row order. ``error`` is set when a mid-file CSV or encoding
    error stopped the import: the rows before it were processed, nothing after.
    """

    kind: str
    path: Path
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    problems: int = 0
    rejects: list[Reject] = field(default_factory=list)
    rejects_path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def partial(self) -> bool:
        """True when any row was rejected or the import stopped early."""
        return self.rejected > 0 or self.error is not None

    def line(self) -> str:
        """The one-line summary printed after an import."""
        text = (
            f"{self.path.name} ({self.kind}): read {self.read}, inserted {self.inserted}, "
            f"updated {self.updated}, unchanged {self.unchanged}, rejected {self.rejected}"
        )
        if self.error is not None:
            text += " - stopped early, partial import"
        elif self.partial:
            text += " - partial import"
        return text


def rejects_path_for(path: Path, report_dir: Path | None = None) -> Path:
    """Where the rejects of ``path`` go: ``<stem>.rejects.csv`` in ``report_dir`` (default:
    next to the file)."""
    return (report_dir or path.parent) / f"{path.stem}.rejects.csv"


@dataclass
class PendingRow:
    """A valid row (``row``: its number, the header being row 1) waiting for its batch."""

    row: int
    values: dict[str, Any]


class RejectSink:
    """Rejects on their way to the rejects file, which is opened on the first reject.

    Rejects wait in ``pending`` until the batch their rows belong to is written, then go out
    sorted by (row, column); batches cover consecutive rows, so the file is in row order.
    """

    def __init__(self, summary: ImportSummary, target: Path | None) -> None:
        self.summary = summary
        self.target = target
        self.pending: list[Reject] = []
        self._out: IO[str] | None = None
        self._writer: Any = None
        if target is not None:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FileRefused(
                    f"{target.parent}: cannot create the folder for rejects files: "
                    f"{exc.strerror or exc}"
                ) from None
            if not os.access(target.parent, os.W_OK):
                raise FileRefused(f"{target.parent}: cannot write rejects files there")

    def emit(self) -> None:
        """Write the pending rejects; keep the first :data:`MAX_REJECTS_KEPT` in the summary."""
        pending = self.pending
        if not pending:
            return
        pending.sort(key=_reject_order)
        summary = self.summary
        room = MAX_REJECTS_KEPT - len(summary.rejects)
        if room > 0:
            summary.rejects.extend(pending[:room])
        summary.problems += len(pending)
        if self.target is not None:
            if self._writer is None:
                self._out = self.target.open("w", encoding="utf-8", newline="")
                self._writer = csv.writer(self._out)
                self._writer.writerow(REJECTS_HEADER)
            name = summary.path.name
            self._writer.writerows((name, r.row, r.record_id, r.column, r.reason) for r in pending)
        pending.clear()

    def close(self) -> None:
        """Close the rejects file, if one was opened."""
        if self._out is not None:
            self._out.close()
            self._out = None

    def finish(self) -> None:
        """Record the rejects file in the summary, or remove a stale one when none."""
        self.close()
        if self.target is None:
            return
        if self.summary.problems:
            self.summary.rejects_path = self.target
        else:
            self.target.unlink(missing_ok=True)
