"""Logged tracebacks never carry local variables (they could hold case details or a
manager's free-text note), in JSON and on a terminal."""

from __future__ import annotations

import pytest
import structlog

from frontdoor.logs import configure_logging


@pytest.mark.parametrize("json", [True, False])
def test_a_logged_exception_shows_no_local_variables(
    json: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(level="INFO", json=json)
    try:
        # Built at run time, so the text is in a local variable but not in the source lines
        # a traceback quotes.
        note = "-".join(["SECRET", "NOTE", "TEXT"])
        raise ValueError(f"failed for record R-1 ({len(note)} characters)")
    except ValueError:
        structlog.get_logger().exception("job_failed", record_id="R-1")
    finally:
        err = capsys.readouterr().err
        structlog.reset_defaults()
    assert "job_failed" in err
    assert "R-1" in err
    assert "ValueError" in err
    assert "SECRET-NOTE-TEXT" not in err
