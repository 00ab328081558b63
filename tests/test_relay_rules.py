"""The relay rules on plain data: number choice, codes, where a reply goes, what the recipient reads."""

import pytest

from gateway.relay import rules as relay
from gateway.relay.rules import Forward, RouteEntry, UnknownCode, Unrouted

PAT_SIDE = RouteEntry(1, "+14155552672", "Alex", "K3", "Pat")
SAM_SIDE = RouteEntry(2, "+14155552673", "Sam", "M7", "Pat")


@pytest.mark.parametrize("entries, last, body, expected", [
    ([], None, "hello", Unrouted()),
    ([PAT_SIDE], None, "hello", Forward(PAT_SIDE, "hello")),
    ([PAT_SIDE], None, "#K3 hello", Forward(PAT_SIDE, "hello")),
    # one conversation: a code that is not its code is not relayed (issue 9), but a hashtag is just text
    ([PAT_SIDE], None, "#Z9 is fine", UnknownCode("Z9", (PAT_SIDE,))),
    ([PAT_SIDE], None, "#hashtag is fine", Forward(PAT_SIDE, "#hashtag is fine")),
    ([PAT_SIDE, SAM_SIDE], 1, "hello", Forward(PAT_SIDE, "hello")),
    ([PAT_SIDE, SAM_SIDE], 2, "hello", Forward(SAM_SIDE, "hello")),
    ([PAT_SIDE, SAM_SIDE], None, "hello", Forward(SAM_SIDE, "hello")),  # no pointer: the newest
    ([PAT_SIDE, SAM_SIDE], 1, "#m7 hello", Forward(SAM_SIDE, "hello")),
    ([PAT_SIDE, SAM_SIDE], 1, "  #M7: hello", Forward(SAM_SIDE, "hello")),
    ([PAT_SIDE, SAM_SIDE], 1, "#Z9 hello", UnknownCode("Z9", (SAM_SIDE, PAT_SIDE))),
    ([PAT_SIDE, SAM_SIDE], 1, "#hashtag hello", Forward(PAT_SIDE, "#hashtag hello")),
    ([PAT_SIDE, SAM_SIDE], 1, "#K3", Forward(PAT_SIDE, "")),
])
def test_decide(entries, last, body, expected):
    assert relay.decide(entries, last, body) == expected


@pytest.mark.parametrize("pool, busy, load, expected", [
    (["+1a"], [], {}, ("+1a", False)),
    (["+1a", "+1b"], [], {"+1a": 3, "+1b": 1}, ("+1b", False)),  # least loaded
    (["+1a", "+1b"], ["+1b"], {"+1a": 3, "+1b": 1}, ("+1a", False)),  # busy numbers avoided
    (["+1a", "+1b"], ["+1a", "+1b"], {"+1a": 3, "+1b": 1}, ("+1b", True)),  # all busy: share the lightest
    (["+1a"], ["+1a"], {"+1a": 1}, ("+1a", True)),
])
def test_choose_number(pool, busy, load, expected):
    assert relay.choose_number(pool, busy, load) == expected


def test_choose_number_needs_a_pool():
    with pytest.raises(ValueError):
        relay.choose_number([], [], {})


def test_codes_are_unique_and_short():
    taken: set[str] = set()
    for _ in range(150):
        code = relay.new_code(taken)
        assert code not in taken and len(code) == 2 and relay.CODE_PREFIX.match(f"#{code}")
        taken.add(code)
    # past 80% of the 192 two-character codes, codes grow a digit rather than hunt for the last free ones
    full = {letter + digit for letter in relay.CODE_LETTERS for digit in relay.CODE_DIGITS}
    assert len(relay.new_code(set(sorted(full)[:154]))) == 3


def test_bodies_carry_codes_only_when_needed():
    assert relay.relayed_body("hi", code="K3", sender_name="Pat", recipient_open=1) == "hi"
    assert relay.relayed_body("hi", code="K3", sender_name="Pat", recipient_open=2) == "#K3 Pat: hi"
    note = relay.notification_body("hi", prospect_name="Pat", community_name="Acme", code="K3", advocate_open=1)
    assert note.startswith("Pat via Acme: hi")
    assert relay.notification_body("hi", prospect_name="Pat", community_name="Acme", code="K3",
                                   advocate_open=2).startswith("#K3 Pat via Acme")
    assert relay.help_body("Z9", [PAT_SIDE, SAM_SIDE]) == \
        "No conversation #Z9. Start your reply with one of: #K3 (Alex), #M7 (Sam)."
