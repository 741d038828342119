"""Settings from the environment (``FRONTDOOR_*``) or a ``.env`` file.

Read once by the CLI and passed down; nothing else reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from frontdoor.errors import ConfigError

# A source checkout keeps rules/ beside src/; an installed image sets FRONTDOOR_RULES_DIR.
_CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Validated configuration. Every field maps to ``FRONTDOOR_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="FRONTDOOR_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(default=Path("data"), description="Where the default SQLite file lives")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/frontdoor.sqlite3"
    )
    rules_dir: Path = Field(default=_CHECKOUT_ROOT / "rules")
    timezone: str = Field(default="Europe/London")
    log_level: str = Field(default="INFO")
    log_json: bool | None = Field(default=None, description="None: JSON when stderr is no TTY")
    import_batch_size: int = Field(default=5000, ge=100, le=50000)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _parseable_url(cls, value: str | None) -> str | None:
        if value:
            try:
                make_url(value)
            except ArgumentError:
                raise ValueError(
                    "not a database URL (e.g. postgresql+psycopg://user@host/db)"
                ) from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return upper

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'frontdoor.sqlite3').as_posix()}"

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)


def load_settings(**overrides: object) -> Settings:
    """Build :class:`Settings`, turning validation errors into one :class:`ConfigError`.

    The message names each ``FRONTDOOR_*`` variable at fault.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # pydantic validates the values
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "FRONTDOOR_" + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}: {err['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None
