"""Opening and decoding a contract CSV file, with exact offsets for encoding errors.

:func:`open_source` opens a file for reading bytes or raises :class:`FileRefused` with a clear
message (missing, a folder, unreadable). :class:`DecodedLines` turns its bytes into the text
lines :func:`csv.reader` takes (UTF-8, a leading byte order mark skipped). A byte that is not
UTF-8 raises :class:`UnicodeDecodeError` while the lines are read, and
:meth:`DecodedLines.offset` gives the byte offset of the first bad byte; in a first line read
as the lines are opened it raises :class:`BadBytes`, which carries that offset. Nothing here
knows about columns or rows.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterable
from itertools import chain
from pathlib import Path

from frontdoor.errors import FileRefused

_BOM = b"\xef\xbb\xbf"
_READ_BUFFER = 1 << 16


def open_source(path: Path) -> io.BufferedReader:
    """Open ``path`` for reading bytes; a clear :class:`FileRefused` when that cannot be done."""
    if path.is_dir():
        raise FileRefused(f"{path}: is a folder, not a CSV file")
    try:
        handle = path.open("rb", buffering=_READ_BUFFER)
    except FileNotFoundError:
        raise FileRefused(f"{path}: no such file") from None
    except OSError as exc:
        raise FileRefused(f"{path}: cannot open: {exc.strerror or exc}") from None
    assert isinstance(handle, io.BufferedReader)
    return handle


class DecodedLines:
    """The decoded lines of a CSV file, for :func:`csv.reader`, with exact error offsets.

    Lines are split on LF and decoded one by one, so a UTF-8 error is raised by the line that
    holds the bad byte: every record before it has been read whole. A file whose lines end in
    a lone CR (classic Mac) is read through a universal-newline text wrapper instead, which
    decodes ahead in chunks: there the offset of a bad byte is found by reading the file again.
    """

    def __init__(self, raw: io.BufferedReader) -> None:
        self.raw = raw
        head = raw.peek(_READ_BUFFER)[:_READ_BUFFER]
        cr, lf = head.find(b"\r"), head.find(b"\n")
        self.exact = not (cr != -1 and (lf == -1 or cr < lf - 1))
        self.wrapper: io.TextIOWrapper | None = None
        self.iter: Iterable[str]
        if self.exact:
            first = raw.readline()
            skip = len(_BOM) if first.startswith(_BOM) else 0
            try:
                header = first[skip:].decode()
            except UnicodeDecodeError as exc:
                raise BadBytes(skip + exc.start) from None
            # ``map`` keeps the per-line cost in C; :meth:`offset` locates its errors.
            self.iter = chain((header,), map(bytes.decode, raw))
        else:
            self.wrapper = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            self.iter = self.wrapper

    def offset(self, exc: UnicodeDecodeError) -> int:
        """The byte offset of the first byte that is not UTF-8."""
        if self.exact and isinstance(exc.object, bytes):
            return self.raw.tell() - len(exc.object) + exc.start
        return _first_bad_byte(self.raw)

    def close(self) -> None:
        """Close the text wrapper, if any (which closes the file)."""
        if self.wrapper is not None:
            self.wrapper.close()


class BadBytes(Exception):
    """The first line of a file is not UTF-8 (``offset``: the first bad byte)."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


def _first_bad_byte(raw: io.BufferedReader) -> int:
    """Read ``raw`` again from the start; the offset of its first byte that is not UTF-8."""
    raw.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    done = 0
    while True:
        chunk = raw.read(1 << 20)
        buffered = len(decoder.getstate()[0])
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            return done - buffered + exc.start
        if not chunk:
            return done  # pragma: no cover - only called after a decoding error
        done += len(chunk)
