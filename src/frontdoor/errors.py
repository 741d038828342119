"""Exceptions that carry a user-facing message.

Messages name files, rows, columns, rule ids, variables and record ids; never names, addresses
or free text from case records.
"""

from __future__ import annotations


class FrontdoorError(Exception):
    """Base class; ``exit_code`` is what the CLI returns for it."""

    exit_code = 1


class ConfigError(FrontdoorError):
    """Invalid settings: names the variable."""

    exit_code = 2


class RuleError(FrontdoorError):
    """Invalid rule file: names the file and the rule."""

    exit_code = 2


class UsageError(FrontdoorError):
    """Arguments that cannot be combined or used as given."""

    exit_code = 2


class FileRefused(FrontdoorError):
    """An input file rejected as a whole (for example a missing required column)."""

    exit_code = 2


class SchemaOutdated(FrontdoorError):
    """The database schema is not at the version this code needs."""

    exit_code = 3
