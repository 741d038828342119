"""Logging set-up (structlog). Called once, by the CLI.

Logs carry record ids only, never names, addresses or free text from case records.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(*, level: str = "INFO", json: bool | None = None) -> None:
    """Send structured logs to stderr: readable on a terminal, JSON lines otherwise.

    stdout is kept for command output (``scan --json`` prints exactly one document there).
    """
    use_json = (not sys.stderr.isatty()) if json is None else json
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Tracebacks never show local variables: they can hold a child's details or a manager's
    # free-text note (structlog shows them by default).
    if use_json:
        no_locals = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        processors += [
            structlog.processors.ExceptionRenderer(no_locals),
            structlog.processors.JSONRenderer(),
        ]
    else:
        processors.append(
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(),
                exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False),
            )
        )
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
