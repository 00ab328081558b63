"""The carriers: the interface and common types (base.py), one module (or package) per carrier, and the registry
that finds them on disk and builds the configured ones by name.

A carrier module, named as the carrier (its name in carrier.name, carrier.also and community_numbers.carrier),
declares:
  Settings            a frozen dataclass with a default for every setting (str, int, float, bool, list or dict);
                      read from the config file's [<name>] table and from <NAME>_<SETTING> in the environment
                      (gateway.config.load), e.g. [twilio] auth_token / TWILIO_AUTH_TOKEN;
  create(settings, config) -> Carrier   built from the configuration alone (see base.Carrier);
and optionally:
  check(settings, config)               raises ConfigError naming a bad setting; run when it is a carrier here;
  lookup(settings, config, session) -> LineTypeLookup   its line-type lookup, named by LINE_TYPE_LOOKUP;
  check_lookup(settings, config)        as check, run when LINE_TYPE_LOOKUP names it;
  REACHES_PHONES = False                only for a carrier that never reaches a real phone (the sandbox): the
                                        secrets a real carrier needs are then not required.
Adding a carrier is adding its module (and its table in config.toml); nothing else names it.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from types import ModuleType
from typing import Any, Iterator

import aiohttp

from gateway.carriers.base import (  # the types every caller imports from gateway.carriers
    MESSAGE_ID, OLD_MESSAGE_ID, OTHER_FAILURE, Accepted, Carrier, Failure, Inbox, InboundMessage,
    LineAnswer, LineTypeLookup, LookupFailed, NotANumber, OutboundSms, RawRequest, Rejected, Resources, RetryLater,
    SendResult, StatusUpdate, WebhookReply)
from gateway.config import Config

__all__ = ["MESSAGE_ID", "OLD_MESSAGE_ID", "OTHER_FAILURE", "Accepted", "Carrier", "Carriers", "Failure", "Inbox",
           "InboundMessage", "LineAnswer", "LineTypeLookup", "LookupFailed", "NotANumber", "OutboundSms",
           "RawRequest", "Rejected", "Resources", "RetryLater", "SendResult", "StatusUpdate",
           "WebhookReply", "build", "lookup", "modules", "names", "lookup_names", "reaches_phones", "settings_classes"]

NOT_CARRIERS = frozenset({"base"})  # modules of this package that are not carriers (private ones start with _)


class Carriers:
    """The carriers this gateway serves, by name; `default` serves the numbers that name none."""

    def __init__(self, carriers: dict[str, Carrier], default: str) -> None:
        self._carriers = carriers
        self.default = carriers[default]

    def find(self, name: str | None) -> Carrier | None:
        """The named carrier, or the default for None; None for a carrier not configured (a number may name one
        this gateway no longer serves)."""
        return self.default if name is None else self._carriers.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._carriers

    def __iter__(self) -> Iterator[Carrier]:
        return iter(self._carriers.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._carriers)

    @property
    def api_prefixes(self) -> tuple[str, ...]:
        """The path prefixes of the carriers' extra routes that act for the operator (need the API token)."""
        return tuple(carrier.api_prefix for carrier in self if carrier.api_prefix)


@functools.cache
def modules() -> dict[str, ModuleType]:
    """Every carrier module in this package, by carrier name (its module name), sorted; imported once.
    Called lazily (by gateway.config too): the carrier modules import gateway.config's types."""
    found = sorted(info.name for info in pkgutil.iter_modules(__path__)
                   if info.name not in NOT_CARRIERS and not info.name.startswith("_"))
    return {name: importlib.import_module(f"{__name__}.{name}") for name in found}


def names() -> tuple[str, ...]:
    """The carriers this installation knows (carrier.name and carrier.also accept these)."""
    return tuple(modules())


def lookup_names() -> tuple[str, ...]:
    """The carriers that offer a line-type lookup (LINE_TYPE_LOOKUP accepts these, and "offline")."""
    return tuple(name for name, module in modules().items() if hasattr(module, "lookup"))


def settings_classes() -> dict[str, type]:
    """Each carrier's Settings dataclass, by carrier name: the [<name>] tables of the configuration."""
    return {name: module.Settings for name, module in modules().items()}


def reaches_phones(name: str) -> bool:
    """Whether the named carrier sends to real phones (all but those that say REACHES_PHONES = False)."""
    return getattr(modules()[name], "REACHES_PHONES", True)


def optional(name: str, function: str) -> Any:
    """The named carrier module's optional function (check, check_lookup...), or None."""
    return getattr(modules()[name], function, None)


def build(config: Config) -> Carriers:
    """Every configured carrier (config.carriers), built from the configuration alone; open() them once started."""
    built = {name: modules()[name].create(config.per_carrier[name], config) for name in config.carriers}
    return Carriers(built, config.carrier.name)


def lookup(name: str, config: Config, session: aiohttp.ClientSession) -> LineTypeLookup:
    """The line-type lookup of the carrier module called name (LINE_TYPE_LOOKUP); it need not be a carrier here."""
    return modules()[name].lookup(config.per_carrier[name], config, session)
