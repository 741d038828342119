"""frontdoor: timeliness monitor for a children's social care front door."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("frontdoor")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0+unknown"
