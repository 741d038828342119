"""Settings from the environment (``FRONTDOOR_*``) or a ``.env`` file.

Read once by the CLI and passed down; nothing else reads the environment.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from frontdoor.errors import ConfigError
from frontdoor.feed import FeedPolicy, parse_hours, parse_stale_after
from frontdoor.mailer import SmtpConfig
from frontdoor.rationale import DEFAULT_REASONS, parse_reasons

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
    database_url_file: Path | None = Field(
        default=None, description="file holding the database URL (it carries the password)"
    )
    rules_dir: Path = Field(default=_CHECKOUT_ROOT / "rules")
    timezone: str = Field(default="Europe/London")
    log_level: str = Field(default="INFO")
    log_json: bool | None = Field(default=None, description="None: JSON when stderr is no TTY")
    import_batch_size: int = Field(default=5000, ge=100, le=50000)
    default_team: str | None = Field(
        default=None,
        description="team id for records from sources without one (Annex A, CIN census)",
    )
    sync_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the council's reporting database (SSD) for "
        "`frontdoor sync`; unset: sync refuses to run",
    )
    sync_url_file: Path | None = Field(
        default=None, description="file holding FRONTDOOR_SYNC_URL (it carries the password)"
    )
    sync_queries_dir: Path | None = Field(
        default=None,
        description="folder of <entity>.sql files overriding the default SSD queries",
    )
    feed_stale_after: str = Field(
        default="off",
        description="'off' or e.g. '4 working hours': with no new contact for this much "
        "working time, the system owner gets one 'data feed stale' alert and breach e-mails "
        "are held back until contacts arrive again (needs FRONTDOOR_SYSTEM_OWNER_EMAIL)",
    )
    feed_hours: str = Field(
        default="09:00-17:00",
        description="local HH:MM-HH:MM on working days that counts towards "
        "FRONTDOOR_FEED_STALE_AFTER",
    )

    # -- e-mail -----------------------------------------------------------------------------
    smtp_host: str | None = Field(default=None, description="SMTP server; unset: no sending")
    smtp_port: int | None = Field(
        default=None, ge=1, le=65535, description="default 587 (starttls), 465 (tls), 25 (none)"
    )
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_password_file: Path | None = Field(
        default=None, description="file holding the SMTP password (instead of SMTP_PASSWORD)"
    )
    smtp_sender: str | None = Field(default=None, description="From address of every e-mail")
    smtp_timeout_seconds: float = Field(default=30, gt=0, le=600)
    smtp_attempts: int = Field(default=3, ge=1, le=10, description="tries per batch send")
    system_owner_email: str | None = Field(
        default=None, description="receives delivery-failure reports"
    )
    delivery_give_up_hours: int = Field(
        default=48,
        ge=1,
        le=24 * 30,
        description="a message still undelivered this long after it was queued is given up",
    )

    delivery_claim_seconds: int = Field(
        default=600,
        ge=1,
        le=86400,
        description="how long a delivery pass holds the messages it is sending; a pass that "
        "died releases them after this",
    )

    # -- digests and escalation ------------------------------------------------------------
    digest_slots: str = Field(
        default="08:30,12:30,16:00", description="local HH:MM times on working days"
    )
    digest_repeat: str = Field(
        default="next-working-day",
        description="'next-working-day', 'every-slot' or a number of hours such as '4h'",
    )
    escalate_after: str = Field(
        default="1 working day", description="'N working day(s)' or 'N working hour(s)'"
    )
    weekly_report_at: str = Field(
        default="08:00",
        description="local HH:MM on the first working day of each week when the weekly "
        "report goes out, or 'off'",
    )
    case_url_contact: str | None = None
    case_url_referral: str | None = None
    case_url_strategy_discussion: str | None = None
    case_url_s47_enquiry: str | None = None
    case_url_assessment: str | None = None
    templates_dir: Path = Field(default=_CHECKOUT_ROOT / "templates")

    # -- web app and manager rationale ------------------------------------------------------
    web_url: str | None = Field(
        default=None,
        description="public base URL of `frontdoor web`; digests link each item to it when set",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="signs links, sessions and CSRF tokens (32+ characters)"
    )
    secret_key_file: Path | None = Field(
        default=None, description="file holding the secret key (instead of SECRET_KEY)"
    )
    link_days: int = Field(default=7, ge=1, le=90, description="how long a digest link works")
    session_hours: int = Field(default=12, ge=1, le=168, description="web session length")
    trusted_identity_header: str | None = Field(
        default=None,
        description="header carrying the signed-in user's e-mail address, set by the council's "
        "reverse proxy (only behind a proxy that strips it from client requests)",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="addresses of the reverse proxy; the identity header counts only from them",
    )
    rationale_reasons: str | None = Field(
        default=None, description="'code=Label;code=Label'; default: the built-in list"
    )

    # -- scheduler --------------------------------------------------------------------------
    scan_interval_minutes: int = Field(default=15, ge=1, le=1440)
    full_scan_interval_minutes: int = Field(default=60, ge=5, le=10080)
    misfire_grace_seconds: int = Field(default=600, ge=1, le=86400)
    heartbeat_max_age_minutes: int = Field(default=45, ge=1, le=10080)

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        for name in ("smtp_password", "secret_key", "database_url", "sync_url"):
            data = _secret_from_file(data, name)
        return data

    @model_validator(mode="after")
    def _feed_alert_has_owner(self) -> Settings:
        # Holding breach e-mails back with nobody told would hide every breach in silence.
        if self.feed_policy is not None and not self.system_owner_email:
            raise ValueError(
                "FRONTDOOR_FEED_STALE_AFTER holds breach e-mails back while the feed is "
                "stale and needs FRONTDOOR_SYSTEM_OWNER_EMAIL to receive its alert"
            )
        return self

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("use at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("rationale_reasons")
    @classmethod
    def _valid_reasons(cls, value: str | None) -> str | None:
        if value is not None:
            parse_reasons(value)
        return value

    @field_validator("web_url")
    @classmethod
    def _valid_web_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # The app serves from the root of its host: links and forms are root-relative.
        if not re.match(r"^https?://[^/\s?#]+/?$", value):
            raise ValueError(
                f"{value!r}: give scheme and host only, e.g. https://frontdoor.example"
            )
        return value.rstrip("/")

    @field_validator(
        "digest_slots",
        "weekly_report_at",
        "digest_repeat",
        "escalate_after",
        "feed_stale_after",
        "feed_hours",
    )
    @classmethod
    def _parses(cls, value: str, info: ValidationInfo) -> str:
        # Kept as written (the properties parse it again); parsing here reports a bad value
        # at start-up, named by its variable.
        _PARSERS[str(info.field_name)](value)
        return value

    @field_validator(
        "case_url_contact",
        "case_url_referral",
        "case_url_strategy_discussion",
        "case_url_s47_enquiry",
        "case_url_assessment",
    )
    @classmethod
    def _valid_url_template(cls, value: str | None) -> str | None:
        if value:
            allowed = ", ".join("{" + n + "}" for n in sorted(URL_FIELDS))
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(value) if name}
            except ValueError as exc:  # unbalanced braces
                raise ValueError(f"not a usable URL template ({exc}); use {allowed}") from None
            unknown = names - URL_FIELDS
            if unknown:
                raise ValueError(f"unknown placeholder {{{sorted(unknown)[0]}}}; use {allowed}")
            try:  # fill it once, as the digest will: catches {}, {0} and {record_id!x}
                value.format(**dict.fromkeys(URL_FIELDS, "x"))
            except (IndexError, KeyError, ValueError) as exc:
                raise ValueError(f"not a usable URL template ({exc}); use {allowed}") from None
            if not value.startswith(("https://", "http://")):
                raise ValueError("must start with https:// or http://")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url", "sync_url")
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

    @property
    def slot_times(self) -> tuple[time, ...]:
        """The digest slots as local times, earliest first."""
        return parse_slots(self.digest_slots)

    @property
    def proxies(self) -> list[str]:
        """The trusted proxy addresses."""
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def reasons(self) -> dict[str, str]:
        """The rationale reasons offered, code -> label."""
        if self.rationale_reasons is None:
            return dict(DEFAULT_REASONS)
        return parse_reasons(self.rationale_reasons)

    @property
    def report_time(self) -> time | None:
        """When the weekly report goes out (local), None when it is off."""
        return parse_report_time(self.weekly_report_at)

    @property
    def feed_policy(self) -> FeedPolicy | None:
        """When the feed counts as stale; None when the check is off."""
        after = parse_stale_after(self.feed_stale_after)
        return None if after is None else FeedPolicy(after, parse_hours(self.feed_hours))

    @property
    def case_urls(self) -> dict[str, str]:
        """URL template per record kind, for the kinds that have one."""
        kinds = ("contact", "referral", "strategy_discussion", "s47_enquiry", "assessment")
        urls = {k: getattr(self, f"case_url_{k}") for k in kinds}
        return {k: v for k, v in urls.items() if v}


URL_FIELDS = frozenset({"record_id", "child_id", "team_id"})
_SLOT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DURATION = re.compile(r"^\s*(\d+)\s*working\s+(day|days|hour|hours)\s*$", re.IGNORECASE)
_HOURS = re.compile(r"^(\d+)h$")


def parse_slots(value: str) -> tuple[time, ...]:
    """``"08:30,12:30,16:00"`` as sorted local times.

    Refused: a malformed or repeated time, no time at all, and any time from 01:00 to 02:59,
    where the clock changes make a local time missing or repeated.
    """
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        raise ValueError("give at least one HH:MM time")
    slots: list[time] = []
    for part in parts:
        m = _SLOT.match(part)
        if not m:
            raise ValueError(f"{part!r} is not a 24-hour HH:MM time")
        slot = time(int(m.group(1)), int(m.group(2)))
        if time(1, 0) <= slot < time(3, 0):
            raise ValueError(f"{part} is between 01:00 and 02:59, when clocks change")
        if slot in slots:
            raise ValueError(f"{part} is listed twice")
        slots.append(slot)
    return tuple(sorted(slots))


def _secret_from_file(data: Any, name: str) -> Any:
    """``FRONTDOOR_<NAME>_FILE``: the secret read from a file (one trailing newline
    dropped); both set is an error."""
    if not isinstance(data, dict) or not data.get(f"{name}_file"):
        return data
    upper = f"FRONTDOOR_{name.upper()}"
    if data.get(name):
        raise ValueError(f"{upper} and {upper}_FILE are both set; set one")
    path = Path(str(data[f"{name}_file"]))
    try:
        secret = path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ValueError(f"{upper}_FILE: cannot read {path}: {exc.strerror}") from None
    return {**data, name: secret}


def parse_report_time(value: str) -> time | None:
    """``"08:00"`` as a local time (the rules of :func:`parse_slots`, one time only), or
    None for ``"off"``."""
    if value.strip().lower() == "off":
        return None
    times = parse_slots(value)
    if len(times) != 1:
        raise ValueError("give one HH:MM time, or 'off'")
    return times[0]


def parse_repeat(value: str) -> Literal["next-working-day", "every-slot"] | timedelta:
    """``next-working-day``, ``every-slot`` or whole hours such as ``4h``."""
    if value in ("next-working-day", "every-slot"):
        return value  # type: ignore[return-value]  # narrowed by the test above
    m = _HOURS.match(value.strip())
    if not m or int(m.group(1)) == 0:
        raise ValueError("use 'next-working-day', 'every-slot' or hours such as '4h'")
    return timedelta(hours=int(m.group(1)))


def parse_working_duration(value: str) -> timedelta:
    """``"1 working day"`` or ``"4 working hours"`` as an amount of working time (a working
    day is 24 working hours: the whole of one working day)."""
    m = _DURATION.match(value)
    if not m or int(m.group(1)) == 0:
        raise ValueError("use e.g. '1 working day', '2 working days' or '4 working hours'")
    n = int(m.group(1))
    return timedelta(hours=n * 24 if m.group(2).lower().startswith("day") else n)


#: The parser of each setting checked by ``Settings._parses`` (it raises ``ValueError``).
_PARSERS: dict[str, Callable[[str], object]] = {
    "digest_slots": parse_slots,
    "weekly_report_at": parse_report_time,
    "digest_repeat": parse_repeat,
    "escalate_after": parse_working_duration,
    "feed_stale_after": parse_stale_after,
    "feed_hours": parse_hours,
}


def smtp_config(settings: Settings) -> SmtpConfig:
    """The SMTP settings for a command that sends; :class:`ConfigError` names what is missing."""
    missing = [
        name
        for name, value in (
            ("FRONTDOOR_SMTP_HOST", settings.smtp_host),
            ("FRONTDOOR_SMTP_SENDER", settings.smtp_sender),
        )
        if not value
    ]
    if settings.smtp_username and settings.smtp_password is None:
        missing.append("FRONTDOOR_SMTP_PASSWORD (or FRONTDOOR_SMTP_PASSWORD_FILE)")
    if missing:
        raise ConfigError(
            "sending e-mail needs " + ", ".join(missing) + " (try --dry-run or --outbox DIR "
            "to see the messages without sending)"
        )
    assert settings.smtp_host  # checked above
    assert settings.smtp_sender
    port = settings.smtp_port or {"starttls": 587, "tls": 465, "none": 25}[settings.smtp_tls]
    return SmtpConfig(
        host=settings.smtp_host,
        port=port,
        security=settings.smtp_tls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        sender=settings.smtp_sender,
        timeout_s=settings.smtp_timeout_seconds,
        retries=settings.smtp_attempts,
    )


def load_settings(**overrides: object) -> Settings:
    """Build :class:`Settings`, turning validation errors into one :class:`ConfigError`.

    The message names each ``FRONTDOOR_*`` variable at fault.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # pydantic validates the values
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if err["loc"]:
                name = "FRONTDOOR_" + "_".join(str(p) for p in err["loc"]).upper()
                problems.append(f"{name}: {err['msg']}")
            else:  # a check across fields: its message names the variables
                problems.append(str(err["msg"]).removeprefix("Value error, "))
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None
