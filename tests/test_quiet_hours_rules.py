"""Quiet hours as a pure rule (gateway/compliance/quiet_hours.py): tables of instants, zones, windows and states."""

from datetime import datetime, time, timezone

import pytest

from gateway.compliance import quiet_hours as q
from gateway.errors import InvalidInput

UTC = timezone.utc
LA, NY = "America/Los_Angeles", "America/New_York"
DAY = q.DEFAULT


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("now, zones, window, state, expected", [
    # Los Angeles at 6 am Pacific (PST, UTC-8, in January): held until 8 am Pacific.
    ("2027-01-12T14:00", (LA,), DAY, None, "2027-01-12T16:00"),
    # The same in July (PDT, UTC-7).
    ("2027-07-12T13:00", (LA,), DAY, None, "2027-07-12T15:00"),
    # New York at 8:30 am Eastern (5:30 am Pacific): its own zone is open.
    ("2027-01-12T13:30", (NY,), DAY, None, None),
    # 9 pm sharp is closed; 8:59:59 pm open.
    ("2027-01-13T02:00", (NY,), DAY, None, "2027-01-13T13:00"),
    ("2027-01-13T01:59:59", (NY,), DAY, None, None),
    # The spring-forward night (2027-03-14 in the US): 6 am EDT is 10:00 UTC; opens at 8 am EDT = 12:00 UTC.
    ("2027-03-14T10:00", (NY,), DAY, None, "2027-03-14T12:00"),
    # The fall-back night (2027-11-07): 1:30 am EST (the second one); opens at 8 am EST = 13:00 UTC.
    ("2027-11-07T06:30", (NY,), DAY, None, "2027-11-07T13:00"),
    # A number spanning zones (South Dakota's 605: Mountain and Central): open only when both are. 8:30 am
    # Central is 7:30 am Mountain: held until 8 am Mountain (9 am Central).
    ("2027-01-12T14:30", ("America/Denver", "America/North_Dakota/Center"), DAY, None, "2027-01-12T15:00"),
    # 8:30 pm Mountain is 9:30 pm Central: closed until 8 am Mountain the next day.
    ("2027-01-13T03:30", ("America/Denver", "America/North_Dakota/Center"), DAY, None, "2027-01-13T15:00"),
    # A narrower community window (10:00 to 18:00) in New York.
    ("2027-01-12T14:30", (NY,), q.Window(time(10), time(18)), None, "2027-01-12T15:00"),
    # Florida: 8 pm closes (8:30 pm Eastern held until 8 am).
    ("2027-01-13T01:30", (NY,), DAY, "FL", "2027-01-13T13:00"),
    # Texas: Sunday from noon (2027-01-17 is a Sunday; 10 am Central = 16:00 UTC, noon = 18:00 UTC).
    ("2027-01-17T16:00", ("America/Chicago",), DAY, "TX", "2027-01-17T18:00"),
    # Texas weekdays from 9 am: 8:30 am Central held until 9.
    ("2027-01-12T14:30", ("America/Chicago",), DAY, "TX", "2027-01-12T15:00"),
    # Mississippi: no Sunday texts; Saturday 8:30 pm Central waits until Monday 8 am.
    ("2027-01-17T02:30", ("America/Chicago",), DAY, "MS", "2027-01-18T14:00"),
    ("2027-01-17T18:00", ("America/Chicago",), DAY, "MS", "2027-01-18T14:00"),
    # A state rule never widens: Texas's 9 pm end with a community window ending at 18:00.
    ("2027-01-13T01:00", ("America/Chicago",), q.Window(time(8), time(18)), "TX", "2027-01-13T15:00"),
])
def test_when_a_text_may_go(now, zones, window, state, expected):
    rule = q.STATE_RULES[state] if state else None
    assert q.opens_at(at(now), zones, window, rule) == (at(expected) if expected else None)


def test_zones_never_open_together_fall_back_to_the_first():
    # A one-hour window in Los Angeles and in Guam (17 or 18 hours apart) never overlaps.
    opens = q.opens_at(at("2027-01-12T12:00"), (LA, "Pacific/Guam"), q.Window(time(8), time(9)))
    assert opens == at("2027-01-12T16:00")


@pytest.mark.parametrize("phone, zones, state", [
    ("+12135550100", (LA,), None),  # Los Angeles, CA: California has no rule here
    ("+12125550100", (NY,), None),
    ("+13055550100", (NY,), "FL"),
    ("+14055550100", ("America/Chicago",), "OK"),
    ("+14105550100", (NY,), "MD"),
    ("+12065550100", (LA,), "WA"),
    ("+15125550100", ("America/Chicago",), "TX"),
    ("+16015550100", ("America/Chicago",), "MS"),
    ("+12025550100", (NY,), None),  # Washington D.C. is not Washington State
    ("+16055550100", ("America/Denver", "America/North_Dakota/Center"), None),
    ("+442071234567", ("Europe/London",), None),
    ("+999", (), None),
])
def test_where_a_number_is(phone, zones, state):
    assert q.recipient(phone) == q.Recipient(zones, state)


def test_a_number_placed_nowhere_is_in_the_community_zone():
    # "+999" is no number: the community's zone decides (6 am in Los Angeles: held until 8).
    assert q.hold_until(at("2027-01-12T14:00"), "+999", DAY, LA) == at("2027-01-12T16:00")


@pytest.mark.parametrize("kind, category, held", [
    ("broadcast", "transactional", True), ("broadcast", None, True), ("triggered", "marketing", True),
    ("triggered", "transactional", False), ("relay", None, False), ("verification", None, False),
    ("keyword_reply", None, False), ("notification", None, False), ("template_test", "marketing", True),
])
def test_what_quiet_hours_hold(kind, category, held):
    assert q.applies(kind, category) is held


@pytest.mark.parametrize("start, end, error", [
    ("08:00", "21:00", None), ("09:30", "17:45", None), ("21:00", "08:00", "before"), ("10:00", "10:00", "before"),
    ("07:59", "21:00", "TCPA"), ("08:00", "21:01", "TCPA"),
])
def test_a_community_window(start, end, error):
    if error is None:
        assert q.check_window(q.parse(start, "s"), q.parse(end, "e")) == q.Window(time.fromisoformat(start),
                                                                                    time.fromisoformat(end))
    else:
        with pytest.raises(InvalidInput, match=error):
            q.check_window(q.parse(start, "s"), q.parse(end, "e"))


@pytest.mark.parametrize("value", ["8:00", "24:00", "08:60", "08:00:00", "", "noon", "08h00", "０８:00"])
def test_a_local_time_is_hh_mm(value):
    with pytest.raises(InvalidInput):
        q.parse(value, "quiet_hours_start")
