"""The carriers: the interface and common types (base.py), one module per carrier, and the registry that builds
the configured ones by name. Adding a carrier: its module (a Carrier subclass and create(config)), its name in
MODULES and config.CARRIERS, and its config section. Nothing in the core changes."""

from __future__ import annotations

import importlib
from typing import Iterator

import aiohttp

from gateway.carriers.base import (  # the types every caller imports from gateway.carriers
    MESSAGE_ID, OLD_MESSAGE_ID, OTHER_FAILURE, Accepted, Carrier, Failure, Inbox, InboundMessage, InboundSms,
    LineAnswer, LineTypeLookup, LookupFailed, NotANumber, OutboundSms, RawRequest, Rejected, Resources, RetryLater,
    SendResult, StatusUpdate, WebhookReply)
from gateway.config import Config

__all__ = ["MESSAGE_ID", "OLD_MESSAGE_ID", "OTHER_FAILURE", "Accepted", "Carrier", "Carriers", "Failure", "Inbox",
           "InboundMessage", "InboundSms", "LineAnswer", "LineTypeLookup", "LookupFailed", "NotANumber", "OutboundSms",
           "RawRequest", "Rejected", "Resources", "RetryLater", "SendResult", "StatusUpdate", "UnknownCarrier",
           "WebhookReply", "build", "lookup"]

# Carrier name (carrier.name, carrier.also, community_numbers.carrier) -> its module. A module may also offer
# lookup(config, session) -> LineTypeLookup, named by LINE_TYPE_LOOKUP.
MODULES = {"sandbox": "gateway.carriers.sandbox", "twilio": "gateway.carriers.twilio"}


class UnknownCarrier(LookupError):
    """A carrier name this gateway does not serve."""


class Carriers:
    """The carriers this gateway serves, by name; `default` serves the numbers that name none."""

    def __init__(self, carriers: dict[str, Carrier], default: str) -> None:
        self._carriers = carriers
        self.default = carriers[default]

    def get(self, name: str | None) -> Carrier:
        """The named carrier, or the default for None. Raises UnknownCarrier for one not configured."""
        if name is None:
            return self.default
        try:
            return self._carriers[name]
        except KeyError:
            raise UnknownCarrier(name) from None

    def find(self, name: str | None) -> Carrier | None:
        """As get, but None for a carrier not configured (a number may name one this gateway no longer serves)."""
        return self.default if name is None else self._carriers.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._carriers

    def __iter__(self) -> Iterator[Carrier]:
        return iter(self._carriers.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._carriers)


def build(config: Config) -> Carriers:
    """Every configured carrier (config.carriers), built from the configuration alone; open() them once started."""
    built = {name: importlib.import_module(MODULES[name]).create(config) for name in config.carriers}
    return Carriers(built, config.carrier.name)


def lookup(name: str, config: Config, session: aiohttp.ClientSession) -> LineTypeLookup:
    """The line-type lookup of the carrier module called name (LINE_TYPE_LOOKUP); it need not be a carrier here."""
    return importlib.import_module(MODULES[name]).lookup(config, session)
