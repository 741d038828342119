"""Allow ``python -m frontdoor``."""

from __future__ import annotations

from frontdoor.cli import main

raise SystemExit(main())
