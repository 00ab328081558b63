"""Separate numbers for marketing (README "Separate numbers for marketing"): a community with a marketing number
keeps two opt-outs apart, STOP to the marketing number stopping marketing texts only; without one, one opt-out
stops everything. Numbers with a category stay off new conversations and verification codes."""

import pytest

from gateway.compliance.preferences import keyword_reply
from gateway.storage import messages
from gateway.storage.communities import NumberOwner
from gateway.vocabulary import KeywordKind, Priority
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, wait_for
from tests.test_quiet_hours import SetClock, marketing, settled

NOON = "2027-01-12T20:00"  # noon Pacific, 3 pm Eastern: quiet hours never hold these
NUMBER = "/v1/communities/{}/numbers/%2B{}"
SENT = ("accepted", "sent", "delivered")


async def categorize(gateway, community_id: int, phone: str, category: str | None) -> dict:
    status, body = await gateway.call("PATCH", NUMBER.format(community_id, phone[1:]), {"category": category})
    assert status == 200, body
    return body


async def _now(value):
    return value


async def replied(gateway, phone: str, words: str) -> None:
    await wait_for(lambda: _now(any(words in body for body in gateway.carrier.bodies_to(phone))),
                   what=f"{words!r} to {phone}")


async def outcome(gateway, community_id: int, category: str, sender: str) -> str:
    """Whether a template send of category from sender to PAT goes (sent) or is blocked."""
    found = await settled(gateway, await marketing(gateway, community_id, PAT, category=category, sender=sender),
                          "blocked", *SENT)
    return "blocked" if found["status"] == "blocked" else "sent"


async def contact(gateway, community_id: int, phone: str) -> dict:
    status, body = await gateway.call("GET", f"/v1/communities/{community_id}/contacts")
    assert status == 200, body
    return next(c for c in body["contacts"] if c["phone"] == phone)


@pytest.mark.parametrize("separated, stop_to, marketing_after, transactional_after", [
    # With a marketing number (PROXY_2): STOP to it stops marketing only; STOP to the other number, the rest only.
    (True, PROXY_2, "blocked", "sent"),
    (True, PROXY, "sent", "blocked"),
    # Without one (PROXY_2 transactional): one opt-out stops both.
    (False, PROXY, "blocked", "blocked"),
    (False, PROXY_2, "blocked", "blocked"),
])
async def test_an_opt_out_stops_its_own_category_when_they_are_kept_apart(
        start_gateway, separated, stop_to, marketing_after, transactional_after):
    gateway = await start_gateway(clock=SetClock(NOON))
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    cid = community["id"]
    await categorize(gateway, cid, PROXY_2, "marketing" if separated else "transactional")
    await gateway.sms(PAT, stop_to, "STOP")
    on_marketing = separated and stop_to == PROXY_2
    await replied(gateway, PAT, "no more marketing texts from Acme Housing" if on_marketing else "unsubscribed")
    marketing_from = PROXY_2 if separated else PROXY
    assert await outcome(gateway, cid, "marketing", marketing_from) == marketing_after
    assert await outcome(gateway, cid, "transactional", PROXY) == transactional_after
    shown = await contact(gateway, cid, PAT)
    assert (shown["preference"], shown["marketing_preference"]) == (
        ("unknown", "opted_out") if on_marketing else ("opted_out", "unknown"))
    category = await gateway.pool.fetchval("SELECT category FROM preference_events WHERE phone = $1", PAT)
    assert category == ("marketing" if on_marketing else None)


@pytest.mark.parametrize("stop_to, goes", [(PROXY, True), (PROXY_2, False)])
async def test_a_queued_marketing_text_is_asked_again_when_sent(start_gateway, stop_to, goes):
    gateway = await start_gateway(clock=SetClock(NOON))
    cid = (await gateway.community(numbers=(PROXY, PROXY_2)))["id"]
    await categorize(gateway, cid, PROXY_2, "marketing")
    mid = await marketing(gateway, cid, PAT, sender=PROXY_2, dispatch=False)
    await gateway.sms(PAT, stop_to, "STOP")
    await replied(gateway, PAT, "no more marketing texts" if stop_to == PROXY_2 else "unsubscribed")
    assert await gateway.dispatcher.dispatch(await _stored(gateway, mid), Priority.BULK, PROXY_2)
    found = await settled(gateway, mid, "blocked", *SENT)
    assert (found["status"] != "blocked") is goes, found


async def _stored(gateway, mid):
    row = await gateway.pool.fetchrow("SELECT id, status, status_reason, segments FROM messages WHERE id = $1", mid)
    return messages.StoredOutbound.of(row)


async def test_start_to_the_marketing_number_brings_marketing_back(start_gateway):
    gateway = await start_gateway(clock=SetClock(NOON))
    cid = (await gateway.community(numbers=(PROXY, PROXY_2)))["id"]
    await categorize(gateway, cid, PROXY_2, "marketing")
    await gateway.sms(PAT, PROXY_2, "STOP")
    await replied(gateway, PAT, "no more marketing texts")
    await gateway.sms(PAT, PROXY_2, "START")
    await replied(gateway, PAT, "You will get marketing texts from Acme Housing")
    assert await outcome(gateway, cid, "marketing", PROXY_2) == "sent"
    assert (await contact(gateway, cid, PAT))["marketing_preference"] == "opted_in"


async def test_numbers_with_a_category_stay_off_new_conversations(gateway):
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    cid = community["id"]
    assert (await categorize(gateway, cid, PROXY, "marketing"))["category"] == "marketing"
    status, listed = await gateway.call("GET", f"/v1/communities/{cid}/numbers")
    assert [(n["phone"], n["category"]) for n in listed["numbers"]] == [(PROXY, "marketing"), (PROXY_2, None)]
    started = await gateway.conversation(cid)
    assert started["proxy_number"] == PROXY_2
    # Only a transactional number left besides the marketing one: it carries conversations.
    await categorize(gateway, cid, PROXY_2, "transactional")
    again = await gateway.conversation(cid, prospect=("+14155552680", "Lee"), advocate=(ALEX, "Alex"))
    assert again["proxy_number"] == PROXY_2
    # Only marketing numbers: no conversation may open on them.
    await categorize(gateway, cid, PROXY_2, "marketing")
    status, body = await gateway.call("POST", "/v1/conversations", {
        "community_id": cid, "prospect": {"phone": "+14155552681", "name": "Kai"},
        "advocate": {"phone": ALEX, "name": "Alex"}, "message": "Hi"})
    assert (status, body["error"]["code"]) == (409, "no_unassigned_number"), body


@pytest.mark.parametrize("body, status, code", [
    ({"category": "promotional"}, 422, "invalid_field"),
    ({"category": "Marketing"}, 422, "invalid_field"),
    ({"category": 1}, 422, "invalid_field"),
    ({"category": "marketing", "member": {"phone": ALEX, "name": "Alex"}}, 409, "category_with_assignment"),
    ({"category": "transactional", "team_id": 1}, 409, "category_with_assignment"),
])
async def test_bad_categories_are_refused_and_nothing_changes(gateway, body, status, code):
    cid = (await gateway.community(numbers=(PROXY, PROXY_2)))["id"]
    got, answer = await gateway.call("PATCH", NUMBER.format(cid, PROXY[1:]), body)
    assert (got, answer["error"]["code"]) == (status, code), answer
    _, listed = await gateway.call("GET", f"/v1/communities/{cid}/numbers")
    assert listed["numbers"][0] == {"phone": PROXY, "member": None, "team_id": None, "category": None}


@pytest.mark.parametrize("categories, sender", [
    ({PROXY: "marketing", PROXY_2: None}, PROXY_2),
    ({PROXY: "marketing", PROXY_2: "transactional"}, PROXY_2),
    ({PROXY: "marketing", PROXY_2: "marketing"}, None),  # nothing else: a code the person asked for must go
])
async def test_verification_codes_keep_off_marketing_numbers(gateway, categories, sender):
    cid = (await gateway.community(numbers=(PROXY, PROXY_2)))["id"]
    for phone, category in categories.items():
        await categorize(gateway, cid, phone, category)
    status, body = await gateway.call("POST", "/v1/verifications", {"community_id": cid, "phone": PAT})
    assert status == 201, body
    message = await gateway.message(body["message"]["id"])
    assert message["from"] == sender if sender else message["from"] in (PROXY, PROXY_2)


@pytest.mark.parametrize("kind, category, changed, expected", [
    ("opt_out", "marketing", True, "You will get no more marketing texts from Acme. Reply START to get them again."),
    ("opt_in", "marketing", True, "You will get marketing texts from Acme. Reply STOP to stop them."),
    ("opt_out", "marketing", False, None),  # a second STOP gets nothing
    ("opt_out", "transactional", True,
     "You're unsubscribed from Acme. No more messages will be sent. Reply START to resubscribe."),
    ("opt_out", None, True, "You're unsubscribed from Acme. No more messages will be sent. Reply START to resubscribe."),
    ("help", "marketing", False, "Acme: texts to this number reach the person you are talking with. Reply STOP to opt "
                                 "out, START to opt back in."),
])
def test_what_a_keyword_gets_back(kind, category, changed, expected):
    owner = NumberOwner(1, "Acme", "Acme", None, None, category)
    assert keyword_reply(KeywordKind(kind), changed, owner) == expected
