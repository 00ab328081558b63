"""Quiet hours: when a marketing or bulk text may reach its recipient, in the recipient's own local time.

TCPA (47 CFR 64.1200(c)(1)): no telephone solicitation "before the hour of 8 a.m. or after 9 p.m. (local time at the
called party's location)". A community's window (default 08:00 to 21:00) holds every marketing or bulk text; a US
state whose law is stricter narrows it for numbers of its area codes (STATE_RULES; README "Quiet hours" cites each).
Nothing here widens a window. Not legal advice: the README says so.

Pure rules (no I/O): the send path (gateway/messaging/sending.py) gives them the gateway's clock, so a test decides
what time it is.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple, Sequence
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as number_zones

from gateway.errors import InvalidInput
from gateway.vocabulary import MessageKind, TemplateCategory

SUNDAY = 6  # date.weekday()
HORIZON = 9  # days searched for an opening: a closed Sunday and a week's turn fit in it


@dataclass(frozen=True)
class Window:
    """Local times: open from start (included) to end (excluded); start < end, so no window crosses midnight."""

    start: time
    end: time

    def narrowed(self, other: Window) -> Window | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Window(start, end) if start < end else None


@dataclass(frozen=True)
class StateRule:
    """A state's calling hours: Monday to Saturday, and Sunday (None: no texts on Sunday)."""

    state: str
    source: str
    weekdays: Window
    sunday: Window | None


def _w(start: int, end: int) -> Window:
    return Window(time(start), time(end))


# Only what a statute says, read where the README's table cites it.
STATE_RULES = {rule.state: rule for rule in (
    StateRule("FL", "Fla. Stat. 501.616(6)(a), as amended by SB 1120 (2021)", _w(8, 20), _w(8, 20)),
    StateRule("OK", "Okla. Stat. tit. 15, 775C.4 (Telephone Solicitation Act of 2022)", _w(8, 20), _w(8, 20)),
    StateRule("MD", "Md. Code, Com. Law 14-4502 (Stop the Spam Calls Act of 2023)", _w(8, 20), _w(8, 20)),
    StateRule("WA", "RCW 19.158.040(2)", _w(8, 20), _w(8, 20)),
    StateRule("MS", "Miss. Code 77-3-723", _w(8, 20), None),
    StateRule("TX", "Tex. Bus. & Com. Code 301.051", _w(9, 21), _w(12, 21)),
)}
# The geocoder names a US number's place as "City, ST" or by the state's name alone ("Washington State"; the
# capital is "Washington D.C.").
STATE_NAMES = {"Florida": "FL", "Oklahoma": "OK", "Maryland": "MD", "Washington State": "WA", "Mississippi": "MS",
               "Texas": "TX"}
DEFAULT = Window(time(8), time(21))  # the TCPA's
HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def applies(kind: str, category: str | None) -> bool:
    """Marketing or bulk: a marketing template's send, or any broadcast. Conversation relays and replies,
    verification codes, keyword replies and transactional sends are exempt."""
    return category == TemplateCategory.MARKETING or kind == MessageKind.BROADCAST


class Recipient(NamedTuple):
    zones: tuple[str, ...]  # IANA names the number may be in (empty: phonenumbers does not know)
    state: str | None  # a US state with a rule of its own (STATE_RULES), else None


@functools.lru_cache(maxsize=65536)
def recipient(phone: str) -> Recipient:
    """Where a number may be, from phonenumbers' data (an area code's zones; the state it belongs to)."""
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return Recipient((), None)
    zones = tuple(zone for zone in number_zones.time_zones_for_number(number) if zone != "Etc/Unknown")
    state = None
    if phonenumbers.region_code_for_number(number) == "US":
        place = geocoder.description_for_number(number, "en")
        code = place[-2:] if re.search(r", [A-Z]{2}$", place) else STATE_NAMES.get(place)
        state = code if code in STATE_RULES else None
    return Recipient(zones, state)


def day_window(window: Window, rule: StateRule | None, day: date) -> Window | None:
    """The community's window on that local day, narrowed by the state's rule; None: closed all day."""
    if rule is None:
        return window
    state = rule.sunday if day.weekday() == SUNDAY else rule.weekdays
    return None if state is None else window.narrowed(state)


def _open(zone: ZoneInfo, at: datetime, window: Window, rule: StateRule | None) -> bool:
    local = at.astimezone(zone)
    today = day_window(window, rule, local.date())
    return today is not None and today.start <= local.time() < today.end


def _openings(zone: ZoneInfo, now: datetime, window: Window, rule: StateRule | None) -> list[datetime]:
    """The UTC instants the window opens in zone, from the day before now's local day to HORIZON days after."""
    first = now.astimezone(zone).date() - timedelta(days=1)
    found = []
    for n in range(HORIZON + 1):
        day = first + timedelta(days=n)
        if (today := day_window(window, rule, day)) is not None:
            found.append(datetime.combine(day, today.start, zone).astimezone(timezone.utc))
    return found


def opens_at(now: datetime, zones: Sequence[str], window: Window, rule: StateRule | None = None) -> datetime | None:
    """None when a text may go at now (UTC); else the first UTC instant at which the window is open in every zone
    the number may be in (the strictest). Zones that are never open together (a window too narrow for their
    distance) fall back to the first zone alone, so a text is held, never kept forever."""
    places = [ZoneInfo(zone) for zone in zones]
    if all(_open(zone, now, window, rule) for zone in places):
        return None
    for candidate in sorted({at for zone in places for at in _openings(zone, now, window, rule) if at > now}):
        if all(_open(zone, candidate, window, rule) for zone in places):
            return candidate
    if len(places) > 1:
        return opens_at(now, zones[:1], window, rule)
    return now + timedelta(days=1)  # no opening at all (cannot happen for a valid window): look again tomorrow


def hold_until(now: datetime, phone: str, window: Window, fallback_zone: str,
               rule_states: bool = True) -> datetime | None:
    """When a marketing or bulk text to phone may go: None (now), or the UTC instant its window opens. A number
    phonenumbers places nowhere is taken to be in the community's time zone (fallback_zone)."""
    where = recipient(phone)
    rule = STATE_RULES.get(where.state) if rule_states and where.state else None
    return opens_at(now, where.zones or (fallback_zone,), window, rule)


def parse(value: str, name: str) -> time:
    """A local time "HH:MM" from the API; InvalidInput otherwise."""
    if not HH_MM.match(value):
        raise InvalidInput("invalid_field", f'{name}: expected a local time "HH:MM", like "08:00"')
    return time.fromisoformat(value)


def check_window(start: time, end: time) -> Window:
    """A community's window: start before end, within the TCPA's 08:00 to 21:00 (a community only narrows it)."""
    if not start < end:
        raise InvalidInput("invalid_field", "quiet_hours_start: must be before quiet_hours_end")
    if start < DEFAULT.start or end > DEFAULT.end:
        raise InvalidInput("invalid_field", "quiet_hours_start, quiet_hours_end: within 08:00 to 21:00 (TCPA)")
    return Window(start, end)
