"""Configuration from the environment or `.env`, validated at start (pydantic-settings).

With no Leyr credentials the whole bot runs on the built-in sandbox: the embedded default. An
empty value (`LEYR_CLIENT_ID=` as in `.env.example`) counts as unset: the setting keeps its default.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.logs import LogFormat
from dialogs.config import ID_KINDS, IdKind

SANDBOX_EMR = "sandbox"
SANDBOX_EMRS = {"SE": SANDBOX_EMR, "NO": "sandbox_no", "DK": "sandbox_dk", "FI": "sandbox_fi"}
"""The sandbox EHR of each clinic region: its test patients are that country's."""
SANDBOX_CARE_UNIT = "cu-sandbox-1"
SANDBOX_CARE_UNITS = (SANDBOX_CARE_UNIT, "cu-sandbox-2", "cu-sandbox-3")
"""The sandbox clinic is a chain of three care units (patients are looked up at the first)."""
SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - the emulator's public test credential
SANDBOX_PSEUDONYM_KEY = "sandbox-pseudonym-key"
"""Public, so only for the sandbox: with it, stored pseudonyms and digests could be brute-forced."""
CHAIN_SEPARATOR = "|"
"""Between a chain's care unit id and a Leyr appointment id in the ids the dialog keeps."""
PSEUDONYM_KEY_MIN_LENGTH = 32
DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
PATIENT_ID_TYPES = frozenset({"emr_id", "se_personal_number", "no_personal_number", "nhs_number"})
POSTGRES_SCHEMES = ("postgres", "postgresql")
"""Driverless PostgreSQL URLs, as hosting platforms give them: run on asyncpg."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"

    leyr_base_url: str = "https://api.leyr.io/api"
    leyr_client_id: str | None = None
    leyr_client_secret: SecretStr | None = None
    leyr_emr: str | None = None
    leyr_care_unit_id: str | None = None
    """One care unit; `LEYR_CARE_UNIT_IDS` names one or many (a chain)."""
    leyr_care_unit_ids: Annotated[tuple[str, ...], NoDecode] = ()
    care_unit_phones: dict[str, str] = {}
    """Per care unit, its phone where it is not CLINIC_PHONE: JSON, {"cu-2": "+46 8 ..."}."""
    care_unit_deadline_hours: dict[str, float] = {}
    """Per care unit, its deadline where it is not CANCELLATION_DEADLINE_HOURS: JSON."""
    leyr_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # What the EHR supports, when the table in bot/leyr/capabilities.py is wrong or silent for it
    leyr_can_list: bool | None = None
    leyr_can_cancel: bool | None = None
    leyr_bulk_cancel: bool | None = None
    leyr_lookup_id_types: Annotated[frozenset[str] | None, NoDecode] = None
    leyr_list_with_lookup: bool = True
    """Read the appointments by the personal number beside the patient lookup (one Leyr round
    trip of waiting instead of two); false: only once the phone on file has matched."""

    database_url: str = "sqlite+aiosqlite:///./cancelbot.sqlite3"
    sandbox_chat_ids: Annotated[frozenset[int], NoDecode] = frozenset()

    clinic_name: str = "Sandbox Clinic"
    clinic_phone: str = "+46 8 123 456 00"
    clinic_timezone: str = "Europe/Stockholm"
    clinic_region: str = "SE"
    cancellation_deadline_hours: float = Field(default=24.0, ge=0, le=24 * 30)
    appointments_horizon_days: int = Field(default=180, ge=1, le=730)

    code_max_attempts: int = Field(default=5, ge=1, le=20)
    code_expiry_minutes: float = Field(default=10.0, gt=0, le=24 * 60)
    code_resends_per_day: int = Field(default=3, ge=0, le=20)
    identity_attempts_per_hour: int = Field(default=5, ge=1, le=100)
    identity_valid_days: float = Field(default=30.0, gt=0, le=3650)
    identity_idle_days: float = Field(default=7.0, gt=0, le=3650)

    pseudonym_key: SecretStr = SecretStr(SANDBOX_PSEUDONYM_KEY)
    log_level: str = "INFO"
    log_format: LogFormat = "text"
    data_retention_days: int = Field(default=180, ge=1, le=3650)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"

    @field_validator("sandbox_chat_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(
                int(part) for part in value.replace(";", ",").split(",") if part.strip()
            )
        return value

    @field_validator("leyr_care_unit_ids", mode="before")
    @classmethod
    def _split_units(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("leyr_care_unit_ids")
    @classmethod
    def _distinct_units(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("names a care unit twice")
        if any(CHAIN_SEPARATOR in unit for unit in value):
            raise ValueError(f"care unit ids must not contain {CHAIN_SEPARATOR!r}")
        return value

    @field_validator("care_unit_phones")
    @classmethod
    def _unit_phones(cls, value: dict[str, str]) -> dict[str, str]:
        return {unit: cls._dialable(phone) for unit, phone in value.items()}

    @field_validator("care_unit_deadline_hours")
    @classmethod
    def _unit_deadlines(cls, value: dict[str, float]) -> dict[str, float]:
        if any(not 0 <= hours <= 24 * 30 for hours in value.values()):
            raise ValueError("each deadline must be between 0 and 720 hours")
        return value

    @field_validator("leyr_lookup_id_types", mode="before")
    @classmethod
    def _split_types(cls, value: object) -> object:
        if isinstance(value, str):
            types = frozenset(part.strip() for part in value.split(",") if part.strip())
            unknown = types - PATIENT_ID_TYPES
            if unknown:
                raise ValueError(f"must be among {', '.join(sorted(PATIENT_ID_TYPES))}")
            return types
        return value

    @field_validator("clinic_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("clinic_phone")
    @classmethod
    def _dialable(cls, value: str) -> str:
        try:
            parsed = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(
                "must be a phone number with country code, e.g. +46 8 123 456 00"
            ) from exc
        if not phonenumbers.is_possible_number(parsed):
            raise ValueError("is not a possible phone number")
        return value

    @field_validator("clinic_region")
    @classmethod
    def _region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in ID_KINDS:
            raise ValueError(f"must be one of {', '.join(ID_KINDS)}: its patients' identity number")
        return region

    @field_validator("leyr_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://api.leyr.io/api")
        return url

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        """`postgres://` and `postgresql://` (what hosting platforms set) mean the async driver;
        their `sslmode` is asyncpg's `ssl`."""
        try:
            url = make_url(value)
        except ArgumentError:
            url = None
        if url is not None and url.drivername in POSTGRES_SCHEMES:
            url = url.set(drivername="postgresql+asyncpg")
            if "sslmode" in url.query:
                url = url.difference_update_query(["sslmode"]).update_query_dict(
                    {"ssl": url.query["sslmode"]}
                )
            value = url.render_as_string(hide_password=False)
        if url is None or url.drivername not in DATABASE_DRIVERS:
            raise ValueError(
                "must be sqlite+aiosqlite:///path/to/file.sqlite3 or "
                "postgresql://user:password@host/database"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @model_validator(mode="after")
    def _one_list_of_units(self) -> Settings:
        if self.leyr_care_unit_id and self.leyr_care_unit_ids:
            raise ValueError("set LEYR_CARE_UNIT_IDS or LEYR_CARE_UNIT_ID, not both")
        units = set(self.care_unit_ids)
        strangers = (set(self.care_unit_phones) | set(self.care_unit_deadline_hours)) - units
        if strangers:
            raise ValueError(
                "CARE_UNIT_PHONES and CARE_UNIT_DEADLINE_HOURS may only name care units of "
                f"LEYR_CARE_UNIT_IDS, not {', '.join(sorted(strangers))}"
            )
        return self

    @model_validator(mode="after")
    def _leyr_complete(self) -> Settings:
        given = {
            "LEYR_CLIENT_ID": self.leyr_client_id,
            "LEYR_CLIENT_SECRET": self.leyr_client_secret,
            "LEYR_EMR": self.leyr_emr,
            "LEYR_CARE_UNIT_IDS": self.care_unit_ids,
        }
        if self.leyr_client_id or self.leyr_client_secret:
            missing = [name for name, value in given.items() if not value]
            if missing:
                raise ValueError(
                    f"{', '.join(missing)} must be set together with the other LEYR_ settings"
                )
        return self

    @model_validator(mode="after")
    def _real_pseudonym_key(self) -> Settings:
        """Real Leyr credentials mean real patients: their pseudonyms need a secret key. (The
        emulator's public credentials reach only made-up patients, so the sandbox key will do.)"""
        secret = self.leyr_client_secret.get_secret_value() if self.leyr_client_secret else None
        emulator = (self.leyr_client_id, secret) == (SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
        if self.sandbox_only or emulator:
            return self
        key = self.pseudonym_key.get_secret_value()
        if key == SANDBOX_PSEUDONYM_KEY or len(key) < PSEUDONYM_KEY_MIN_LENGTH:
            raise ValueError(
                f"PSEUDONYM_KEY must be a random secret of at least {PSEUDONYM_KEY_MIN_LENGTH} "
                "characters when LEYR_CLIENT_ID is set (see .env.example)"
            )
        return self

    @property
    def sandbox_only(self) -> bool:
        """No Leyr credentials: every chat runs on the built-in emulator."""
        return not self.leyr_client_id

    def is_sandbox_chat(self, chat_id: int) -> bool:
        return self.sandbox_only or chat_id in self.sandbox_chat_ids

    @property
    def care_unit_ids(self) -> tuple[str, ...]:
        """The clinic's care units: one, or a chain's (the first is where patients are looked
        up)."""
        return self.leyr_care_unit_ids or (
            (self.leyr_care_unit_id,) if self.leyr_care_unit_id else ()
        )

    @property
    def id_kind(self) -> IdKind:
        """The national identity number patients type, decided by the clinic's region."""
        return ID_KINDS[self.clinic_region]

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone)

    @property
    def identity_valid_for(self) -> timedelta:
        return timedelta(days=self.identity_valid_days)

    @property
    def identity_idle_for(self) -> timedelta:
        return timedelta(days=self.identity_idle_days)

    @property
    def cancellation_deadline(self) -> timedelta:
        return timedelta(hours=self.cancellation_deadline_hours)

    @property
    def appointments_horizon(self) -> timedelta:
        return timedelta(days=self.appointments_horizon_days)

    @property
    def data_retention(self) -> timedelta:
        return timedelta(days=self.data_retention_days)

    @property
    def code_expiry(self) -> timedelta:
        return timedelta(minutes=self.code_expiry_minutes)


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it in one line."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and `.env`, or one clear line naming what is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        name = "_".join(str(part) for part in first["loc"]).upper()
        if not name:  # a rule over several settings: the message names them
            raise ConfigError(f"invalid configuration: {message}") from None
        raise ConfigError(f"invalid setting {name}: {message}") from None
