"""Settings: config.toml merged with the environment into frozen dataclasses, validated once."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

# ConfigError and check_url are also this module's interface: the carriers' checks import them from here.
from gateway.config_values import CONTROL, ConfigError, check_numbers, check_url, coerce, port
# The channels' settings are in their own module (this one's size); imported from here like the others.
from gateway.config_channels import BroadcastSettings, ContactsSettings, MediaSettings, WhatsAppSettings
from gateway.config_process import LogSettings, QueueSettings, RetentionSettings, TasksSettings
from gateway import config_environment as environment

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "config.toml"
OFFLINE_LOOKUP = "offline"  # the line-type lookup without a service (gateway/verification/line_types.py)


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    max_body_bytes: int = 65536
    max_header_bytes: int = 8190
    body_timeout: float = 15.0
    api_tokens: dict = field(default_factory=dict)  # name -> token, or a table: gateway/tokens.py
    idempotency_ttl: float = 86400.0  # seconds an Idempotency-Key's first answer is kept (24 hours)
    idempotency_lease: float = 60.0  # seconds a request in flight holds its key before a retry may take over
    ops_port: int = 0  # serve /metrics, /healthz and /readyz on this port only (0: on port, with the rest)
    metrics_token: str = ""  # when set, /metrics asks for "Authorization: Bearer <it>"
    ready_requires_redis: bool = False  # true: /readyz answers 503 while Redis is away (else 200 "degraded")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""
    pool_min: int = 2
    pool_max: int = 10
    migrate_on_start: bool = True
    command_timeout: float = 5.0
    batch_max: int = 64


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""
    timeout: float = 0.5
    max_connections: int = 100


@dataclass(frozen=True)
class EmbeddedSettings:
    data_dir: str = "var"
    redis_port: int = 6380


@dataclass(frozen=True)
class CarrierSettings:
    name: str = "sandbox"
    also: str = ""  # more carriers serving numbers at the same time, comma-separated (see Config.carriers)
    send_timeout: float = 10.0
    max_attempts: int = 5
    retry_base: float = 1.0
    retry_cap: float = 60.0


@dataclass(frozen=True)
class LineTypeLookupSettings:
    name: str = ""
    timeout: float = 3.0
    cache_days: int = 30


@dataclass(frozen=True)
class VerificationSettings:
    secret: str = ""
    ttl_minutes: int = 10
    max_checks: int = 5
    per_phone_per_hour: int = 5
    per_community_per_hour: int = 100


@dataclass(frozen=True)
class LimitsSettings:
    daily_levels: list = field(default_factory=lambda: [200, 400, 600, 800, 1000, 1200, 1400, 2000])
    daily_ceiling: int = 5000
    reset_interval: float = 60.0
    # MMS and WhatsApp messages, priced apart from SMS, have limits of their own (README "Daily limits and ramp-up"):
    # a community's own, else these. No ramp-up: a day's limit is the same every day.
    mms_daily_limit: int = 200
    mms_monthly_limit: int = 3000
    whatsapp_daily_limit: int = 1000
    whatsapp_monthly_limit: int = 20000


@dataclass(frozen=True)
class ComplianceSettings:
    temporary_dnd_failures: int = 3
    temporary_dnd_days: int = 30
    monitor_interval: float = 300.0
    monitor_min_sent: int = 50
    warn_error_rate: float = 0.06
    warn_opt_out_rate: float = 0.02
    restrict_error_rate: float = 0.10
    restrict_opt_out_rate: float = 0.03
    quiet_release_interval: float = 30.0  # seconds between looks for texts whose quiet hours ended


@dataclass(frozen=True)
class HooksSettings:
    secret: str = ""
    event_url: str = ""  # every community's events also go here (signed with the gateway's secret); "": nowhere
    timeout: float = 5.0
    max_attempts: int = 8
    interval: float = 1.0  # and between looks for intercept and out-of-session callbacks that are due
    intercept_timeout: float = 5.0  # seconds one try of an intercept URL may take (out of session: timeout)
    intercept_attempts: int = 2  # tries (timeout, connection error, 5xx) before the community's policy applies
    intercept_retry_delay: float = 1.0  # seconds between two tries of an intercept URL
    out_of_session_attempts: int = 8  # tries, 2^n seconds apart (at most 10 minutes), before one is given up
    secret_grace_hours: float = 24.0  # after a community's event secret is rotated, the previous one signs too
    retention_days: float = 30.0  # delivered and failed event deliveries and finished callbacks are kept this long


@dataclass(frozen=True)
class RelaySettings:
    unrouted_reply: str = "This number only relays active conversations."
    default_inactivity_days: int = 30
    per_number_rate: float = 1.0
    default_region: str = "US"


@dataclass(frozen=True)
class GroupSettings:
    max_members: int = 10  # most members of a one-to-group conversation (README "One-to-group conversations")


@dataclass(frozen=True)
class Config:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    embedded: EmbeddedSettings = field(default_factory=EmbeddedSettings)
    carrier: CarrierSettings = field(default_factory=CarrierSettings)
    lookup: LineTypeLookupSettings = field(default_factory=LineTypeLookupSettings)
    verification: VerificationSettings = field(default_factory=VerificationSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    compliance: ComplianceSettings = field(default_factory=ComplianceSettings)
    hooks: HooksSettings = field(default_factory=HooksSettings)
    relay: RelaySettings = field(default_factory=RelaySettings)
    groups: GroupSettings = field(default_factory=GroupSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    whatsapp: WhatsAppSettings = field(default_factory=WhatsAppSettings)
    contacts: ContactsSettings = field(default_factory=ContactsSettings)
    broadcasts: BroadcastSettings = field(default_factory=BroadcastSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    tasks: TasksSettings = field(default_factory=TasksSettings)
    log: LogSettings = field(default_factory=LogSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    # Each carrier module's own Settings, by carrier name: its [<name>] table (gateway/carriers/__init__.py).
    per_carrier: Mapping[str, Any] = field(default_factory=lambda: {n: s() for n, s in _carrier_settings().items()})

    @property
    def public_url(self) -> str:
        """The base URL the carrier calls, without a trailing slash."""
        url = self.server.public_url or f"http://{self.server.host}:{self.server.port}"
        return url.rstrip("/")

    @property
    def line_type_lookup(self) -> str:
        """The line-type lookup in use: as configured, else the default carrier's own (twilio's with the twilio
        carrier, the sandbox's with the sandbox), else offline."""
        from gateway import carriers  # lazily: the carrier modules import this module

        if self.lookup.name:
            return self.lookup.name
        return self.carrier.name if self.carrier.name in carriers.lookup_names() else OFFLINE_LOOKUP

    @property
    def carriers(self) -> tuple[str, ...]:
        """Every carrier this gateway serves: the default (carrier.name, for numbers that name none) first, then
        carrier.also in order, each once."""
        names = [self.carrier.name] + [name.strip() for name in self.carrier.also.split(",") if name.strip()]
        return tuple(dict.fromkeys(names))

    def replace(self, **sections: Mapping[str, Any]) -> Config:
        """A copy with some settings changed, e.g. replace(queue={"concurrency": 4}, twilio={"auth_token": "t"})."""
        per_carrier = dict(self.per_carrier)
        changed: dict[str, Any] = {"per_carrier": per_carrier}
        for name, values in sections.items():
            if name in per_carrier:
                per_carrier[name] = dataclasses.replace(per_carrier[name], **values)
            else:
                changed[name] = dataclasses.replace(getattr(self, name), **values)
        return validate(dataclasses.replace(self, **changed))


# Environment variable -> (section, setting) of the core; the README lists the same names. A carrier's settings
# are read by one rule instead: <NAME>_<SETTING> (carrier_variable), e.g. TWILIO_AUTH_TOKEN.
ENVIRONMENT = {
    "DATABASE_URL": ("database", "url"),
    "REDIS_URL": ("redis", "url"),
    "GATEWAY_HOST": ("server", "host"),
    "GATEWAY_PORT": ("server", "port"),
    "GATEWAY_PUBLIC_URL": ("server", "public_url"),
    "CARRIER": ("carrier", "name"),
    "CARRIERS_ALSO": ("carrier", "also"),
    "LINE_TYPE_LOOKUP": ("lookup", "name"),
    "GATEWAY_VERIFICATION_SECRET": ("verification", "secret"),
    "GATEWAY_WEBHOOK_SECRET": ("hooks", "secret"),
    "GATEWAY_EVENT_URL": ("hooks", "event_url"),
}


def load(env: Mapping[str, str] | None = None) -> Config:
    """Read the config file (GATEWAY_CONFIG or ./config.toml) and apply the environment."""
    env = os.environ if env is None else env
    path = Path(env.get("GATEWAY_CONFIG") or DEFAULT_PATH)
    try:
        # An installed wheel has no config.toml beside it: the defaults are the same (tests/test_config.py).
        raw = {} if path == DEFAULT_PATH and not path.exists() else tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"GATEWAY_CONFIG: no such file {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    environment.apply(env, raw, _named_variables(), _all_sections())
    if env.get("GATEWAY_API_TOKEN"):
        tokens = dict(raw.get("server", {}).get("api_tokens", {}))
        tokens["default"] = env["GATEWAY_API_TOKEN"]
        raw.setdefault("server", {})["api_tokens"] = tokens
    return from_dict(raw)


def _named_variables() -> dict[str, tuple[str, str]]:
    """Every variable named outside the rule -> (section, setting): the core's older names, then each carrier's."""
    return dict(ENVIRONMENT) | {carrier_variable(carrier, setting): (carrier, setting)
                                for carrier, settings in _carrier_settings().items()
                                for setting in typing.get_type_hints(settings)}


def _all_sections() -> dict[str, type]:
    """Every section's name -> its settings class: the core's, then each carrier's."""
    hints = typing.get_type_hints(Config)
    return {**{name: kind for name, kind in hints.items() if name != "per_carrier"}, **_carrier_settings()}


def environment_help() -> str:
    """Every environment variable, for --help."""
    return environment.help_text(_named_variables(), _all_sections())


def carrier_variable(carrier: str, setting: str) -> str:
    """The environment variable of a carrier's setting: TWILIO_AUTH_TOKEN for twilio's auth_token."""
    return f"{carrier}_{setting}".upper()


def carrier_setting(carrier: str, setting: str) -> str:
    """How an error names a carrier's setting: "twilio.auth_token (TWILIO_AUTH_TOKEN)"."""
    return f"{carrier}.{setting} ({carrier_variable(carrier, setting)})"


def _carrier_settings() -> dict[str, type]:
    from gateway import carriers  # lazily: the carrier modules import this module

    return carriers.settings_classes()


def from_dict(raw: Mapping[str, Any]) -> Config:
    """Build and validate a Config from nested dicts: the core's sections and each carrier's [<name>] table
    (per_carrier); unknown sections and settings are errors."""
    sections: dict[str, Any] = {}
    hints = {name: kind for name, kind in typing.get_type_hints(Config).items() if name != "per_carrier"}
    own = _carrier_settings()
    per_carrier = {name: settings() for name, settings in own.items()}
    for name, values in raw.items():
        if name not in hints and name not in own:
            raise ConfigError(f"{name}: unknown section")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{name}: must be a table of settings")
        if name in own:
            per_carrier[name] = _section(name, own[name], values, carrier_setting, printable=True)
        else:
            sections[name] = _section(name, hints[name], values)
    return validate(Config(**sections, per_carrier=per_carrier))


def _section(section: str, cls: type, values: Mapping[str, Any],
             named: Callable[[str, str], str] = lambda section, key: f"{section}.{key}", printable: bool = False) -> Any:
    """named: how an error names a setting (a carrier's: with its variable, as its own checks do). printable:
    refuse control characters in text settings (a carrier's go into HTTP headers and URLs, where aiohttp refuses
    them on every request: a line end left by an env file would fail each send, not start-up)."""
    hints = typing.get_type_hints(cls)
    out = {}
    for key, value in values.items():
        if key not in hints:
            raise ConfigError(f"{section}.{key}: unknown setting")
        out[key] = coerce(named(section, key), hints[key], value)
        if printable and isinstance(out[key], str) and CONTROL.search(out[key]):
            raise ConfigError(f"{named(section, key)}: contains a control character (a line end from the file "
                              "it was read from?)")
    return cls(**out)


# One server, or a Redis Cluster (gateway/routing/connect.py).
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")

def validate(config: Config) -> Config:
    """Cross-checks that no single field can make; raises ConfigError naming the first bad setting."""
    from gateway.tokens import parse_tokens  # lazily: it imports ConfigError from here
    parse_tokens(config.server.api_tokens)  # a bad token setting: ConfigError naming it
    if bad := [name for name in ("media_max_bytes", "image_max_bytes") if getattr(config.whatsapp, name) < 1]:
        raise ConfigError(f"whatsapp.{bad[0]}: must be positive, got {getattr(config.whatsapp, bad[0])}")
    if not 1 <= config.groups.max_members <= 100:
        raise ConfigError(f"groups.max_members: must be 1-100, got {config.groups.max_members}")
    _validate_server(config.server)
    if config.database.url:
        check_url("database.url (DATABASE_URL)", config.database.url, ("postgres", "postgresql"))
    if config.redis.url:
        check_url("redis.url (REDIS_URL)", config.redis.url, REDIS_SCHEMES)
    if config.hooks.event_url:
        check_url("hooks.event_url (GATEWAY_EVENT_URL)", config.hooks.event_url, ("http", "https"))
    _validate_carrier(config)
    if not 1 <= config.database.pool_min <= config.database.pool_max:
        raise ConfigError("database.pool_min: must be at least 1 and at most database.pool_max")
    sections = {section.name: getattr(config, section.name) for section in dataclasses.fields(config)
                if section.name != "per_carrier"}
    check_numbers({**sections, **config.per_carrier})
    region = config.relay.default_region
    if not (len(region) == 2 and region.isalpha() and region.isupper()):
        raise ConfigError(f"relay.default_region: expected a two-letter country code such as US, got {region!r}")
    if config.log.level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"log.level: expected debug, info, warning or error, got {config.log.level!r}")
    if config.log.format not in ("auto", "json", "console"):
        raise ConfigError(f"log.format: expected auto, json or console, got {config.log.format!r}")
    if config.queue.lease_seconds <= config.carrier.send_timeout:
        raise ConfigError("queue.lease_seconds: must be longer than carrier.send_timeout")
    return config


def _validate_server(server: ServerSettings) -> None:
    if not 0 < server.port < 65536:
        raise ConfigError(f"server.port (GATEWAY_PORT): must be 1-65535, got {server.port}")
    if server.ops_port == server.port or not 0 <= server.ops_port < 65536:
        raise ConfigError(f"server.ops_port: must be 0 (off) or a port 1-65535 other than server.port, got "
                          f"{server.ops_port}")
    token = server.metrics_token
    if token and (not token.isascii() or token != token.strip() or CONTROL.search(token)):
        # No header carries it: every scrape would get 401.
        raise ConfigError("server.metrics_token: expected an ASCII string without spaces around it or line ends")
    if server.public_url:
        check_url("server.public_url (GATEWAY_PUBLIC_URL)", server.public_url, ("http", "https"))
        port("server.public_url (GATEWAY_PUBLIC_URL)", server.public_url)


def _validate_carrier(config: Config) -> None:
    """The carriers and the line-type lookup by name, each one's own check, and the secrets a real carrier needs."""
    from gateway import carriers  # lazily: the carrier modules import this module

    known = carriers.names()
    if config.carrier.name not in known:
        raise ConfigError(f"carrier.name (CARRIER): expected one of {', '.join(known)}, got {config.carrier.name!r}")
    for name in config.carriers:
        if name not in known:
            raise ConfigError(f"carrier.also (CARRIERS_ALSO): expected names from {', '.join(known)}, got {name!r}")
    lookups = (*carriers.lookup_names(), OFFLINE_LOOKUP)
    if config.lookup.name and config.lookup.name not in lookups:
        raise ConfigError(f"lookup.name (LINE_TYPE_LOOKUP): expected one of {', '.join(lookups)}, "
                          f"got {config.lookup.name!r}")
    for name in config.carriers:
        if check := carriers.optional(name, "check"):
            check(config.per_carrier[name], config)
        if carriers.reaches_phones(name):
            # Real phones get codes and communities get signed webhooks: neither key may be a guess or change.
            for setting, variable, secret in (
                    ("verification.secret", "GATEWAY_VERIFICATION_SECRET", config.verification.secret),
                    ("hooks.secret", "GATEWAY_WEBHOOK_SECRET", config.hooks.secret)):
                if len(secret) < 16:
                    raise ConfigError(f"{setting} ({variable}): at least 16 characters required when {name} is "
                                      "a carrier")
    lookup = config.line_type_lookup
    if lookup != OFFLINE_LOOKUP and (check := carriers.optional(lookup, "check_lookup")):
        check(config.per_carrier[lookup], config)
