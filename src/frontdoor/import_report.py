"""What an import reports: its counts, its rejects and the rejects file they are written to.

A :class:`Reject` is one problem with one row (row number with the header as row 1, column,
reason). An :class:`ImportSummary` holds the counts of one import, with
``read == inserted + updated + unchanged + rejected``, and keeps only the first
:data:`MAX_REJECTS_KEPT` rejects in memory. A :class:`RejectSink` streams every reject to the
rejects file (named by :func:`rejects_path_for`, columns :data:`REJECTS_HEADER`) in row order,
opening it on the first reject. A :class:`PendingRow` is a valid row waiting for its batch to
be written. A :class:`RejectsFile` does the same for the council-return imports and sync,
whose rejects are their own dataclasses (one CSV column per field). Nothing here touches the
database.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

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
            _writable_folder(target)

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


class RejectsFile:
    """Every reject of an Annex A or CIN census import or a sync, one CSV row per reject (its
    dataclass fields, in order, under a header of their names), so that nothing beyond the
    first :data:`MAX_REJECTS_KEPT` kept in memory is lost. The file is opened on the first
    reject; :meth:`finish` removes a stale file from an earlier run when there was none."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.written = 0
        self._out: IO[str] | None = None
        self._writer: Any = None
        _writable_folder(target)

    def write(self, reject: Any) -> None:
        """Append ``reject`` (a dataclass instance whose fields never hold free text)."""
        if self._writer is None:
            self._out = self.target.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._out)
            self._writer.writerow([f.name for f in dataclasses.fields(reject)])
        self._writer.writerow(dataclasses.astuple(reject))
        self.written += 1

    def finish(self) -> Path | None:
        """Close the file; return its path, or None (and remove a stale one) when empty."""
        if self._out is not None:
            self._out.close()
            self._out = None
        if self.written:
            return self.target
        self.target.unlink(missing_ok=True)
        return None


def _writable_folder(target: Path) -> None:
    """Create ``target``'s folder if needed; :class:`FileRefused` when it cannot be written."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileRefused(
            f"{target.parent}: cannot create the folder for rejects files: {exc.strerror or exc}"
        ) from None
    if not os.access(target.parent, os.W_OK):
        raise FileRefused(f"{target.parent}: cannot write rejects files there")


R = TypeVar("R")


class KeepsRejects(Generic[R]):
    """The reject handling shared by the Annex A, CIN census and sync reports (dataclasses
    that declare these three fields): every reject counted in ``problems``, the first
    :data:`MAX_REJECTS_KEPT` kept in ``rejects``, all of them written to ``spill``."""

    rejects: list[R]
    problems: int
    spill: RejectsFile | None

    def add_reject(self, reject: R) -> None:
        """Count ``reject``, keep it when there is room, and write it to ``spill``."""
        self.problems += 1
        if len(self.rejects) < MAX_REJECTS_KEPT:
            self.rejects.append(reject)
        if self.spill is not None:
            self.spill.write(reject)
