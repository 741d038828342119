"""`frontdoor rationale add` and `list` from the command line: the note by argument, from a
file or from standard input (out of the shell history), and refusals with the reason."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.cli.test_cli_notify import _home as _home  # noqa: F401 - the `home` fixture
from tests.cli.test_cli_notify import _loaded as _loaded  # noqa: F401 - the `loaded` fixture
from tests.cli.test_cli_notify import run

BY = "tm.a@example.org"


@pytest.fixture(name="scanned")
def _scanned(loaded: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """OLD1 (January 2020, no outcome) recorded as a breach by a live scan."""
    assert run(capsys, "scan")[0] == 0
    return loaded


def test_add_with_a_note_from_a_file_or_stdin_and_list_it(
    scanned: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    note = scanned / "note.txt"
    note.write_text("Waiting for the police check (file).\n", encoding="utf-8")
    code, out, _ = run(
        capsys, "rationale", "add", "OLD1", "--by", BY, "--reason", "awaiting-partner-information",
        "--note-file", str(note),
    )  # fmt: skip
    assert code == 0, out
    assert out.startswith("recorded for OLD1 (contact-outcome-24h, team DAT-A)")
    monkeypatch.setattr("sys.stdin", io.StringIO("From standard input.\n"))
    code, _, _ = run(
        capsys, "rationale", "add", "OLD1", "--by", BY, "--reason", "awaiting-partner-information",
        "--note-file", "-",
    )  # fmt: skip
    assert code == 0
    code, out, _ = run(capsys, "rationale", "list", "--record", "OLD1")
    assert code == 0
    assert "    note: Waiting for the police check (file)." in out
    assert "    note: From standard input." in out
    assert out.count("OLD1  contact-outcome-24h  team DAT-A") == 2


def test_refusals_name_the_problem(scanned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["rationale", "add", "OLD1", "--by", BY, "--reason", "awaiting-partner-information"]
    code, _, err = run(capsys, *base, "--note-file", str(scanned / "missing.txt"))
    assert code == 2
    assert "--note-file" in err
    assert "No such file or directory" in err
    binary = scanned / "note.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    code, _, err = run(capsys, *base, "--note-file", str(binary))
    assert (code, "not UTF-8 text" in err) == (2, True)
    code, _, err = run(capsys, "rationale", "add", "NOPE", "--by", BY, "--reason", "x")
    assert code == 2
    assert "reason 'x' is not one of" in err
    code, _, err = run(
        capsys, "rationale", "add", "NOPE", "--by", BY, "--reason", "awaiting-partner-information"
    )
    assert code == 2
    assert "no breach is recorded for 'NOPE'" in err
    with pytest.raises(SystemExit):  # argparse: --note and --note-file together
        run(capsys, *base, "--note", "a", "--note-file", "-")
    code, out, _ = run(capsys, "rationale", "list", "--record", "OLD1")
    assert out.startswith("no rationale recorded")  # nothing was written by the refusals
