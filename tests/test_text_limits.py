"""Nothing leaves that the carrier must refuse for its length: splitting, the API's check, the send path's."""

import pytest

from gateway.relay import rules as relay
from gateway.relay import segments
from gateway.relay.segments import MAX_BODY, length, split
from gateway.storage import messages
from gateway.vocabulary import MessageKind, Priority
from tests.fakes import unwrap
from tests.helpers import ALEX, PAT, PROXY, SAM, wait_for

EMOJI = "\U0001F600"  # a surrogate pair in UTF-16
FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467"  # one emoji built with zero-width joiners


@pytest.mark.parametrize("text, room, expected", [
    ("", 10, []), ("   \n ", 10, []), ("short", 10, ["short"]), ("exactly10!", 10, ["exactly10!"]),
    ("one two three four", 9, ["one two", "three", "four"]),  # at word boundaries, spaces at the cut dropped
    ("one   two", 5, ["one", "two"]), ("line one\nline two", 9, ["line one", "line two"]),
    ("abcdefghij", 4, ["abcd", "efgh", "ij"]),  # a word longer than a part is cut inside it
    ("go supercalifragilistic", 8, ["go", "supercal", "ifragili", "stic"]),
    ("ab" + EMOJI + "cd", 3, ["ab", EMOJI + "c", "d"]),  # the pair would straddle the cut: it moves whole
    (EMOJI * 3, 3, [EMOJI, EMOJI, EMOJI]), (EMOJI * 4, 4, [EMOJI * 2, EMOJI * 2]),
    ("hi " + EMOJI + EMOJI, 4, ["hi", EMOJI + EMOJI]),
    ("e\u0301e\u0301e\u0301", 5, ["e\u0301e\u0301", "e\u0301"]),  # a combining accent stays with its letter
    ("x" + FAMILY, 8, ["x", FAMILY]),  # nor is a joined emoji cut at its joiners when it fits in a part
])
def test_split(text, room, expected):
    parts = split(text, room)
    assert parts == expected
    assert all(length(part) <= room for part in parts)
    for part in parts:  # never a lone surrogate: every part encodes as UTF-16 on its own
        part.encode("utf-16-le")


def test_split_keeps_every_word_in_order():
    words = [f"word{n}" for n in range(400)] + ["x" * 50, EMOJI * 30, "end."]
    text = " ".join(words)
    parts = split(text, 153)
    assert len(parts) > 1 and all(length(part) <= 153 for part in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")


def test_split_refuses_a_room_without_space_for_a_pair():
    with pytest.raises(ValueError):
        split("text", 1)


def test_relayed_parts_leave_room_for_the_prefix_and_the_identification():
    identification = relay.identification_cost("{sender name}: {message} Reply STOP to opt out.", "Acme Housing")
    body = " ".join(["lorem"] * 300)  # 1,799 characters
    parts = relay.relayed_parts(body, code="K3", sender_name="Pat", recipient_open=2, identification=identification)
    assert len(parts) == 2 and all(part.startswith("#K3 Pat: ") for part in parts)
    assert all(length(part) + identification[0] <= MAX_BODY for part in parts)
    assert relay.relayed_parts(" ", code="K3", sender_name="Pat", recipient_open=1, identification=(0, 1)) == []


@pytest.mark.parametrize("body, expected", [
    ("", "body_empty"), (" \n", "body_empty"), ("x" * 1600, None), ("x" * 1601, "body_too_long"),
    (EMOJI * 800, None), (EMOJI * 800 + "x", "body_too_long"),
])
def test_unsendable(body, expected):
    assert (segments.unsendable(body) or (None,))[0] == expected


async def test_a_notification_that_would_not_fit_is_refused_saying_what_fits(gateway):
    """issue 9: a 1,600-character message answered 201 and went out at 1,691 characters."""
    community = await gateway.community()
    request = {"community_id": community["id"], "prospect": {"phone": PAT, "name": "Pat"},
               "advocate": {"phone": ALEX, "name": "Alex"}, "message": "x" * 1600}
    status, body = await gateway.call("POST", "/v1/conversations", request)
    assert (status, body["error"]["code"]) == (422, "message_too_long"), body
    fits = body["error"]["max_length"]
    assert f"at most {fits} fit" in body["error"]["message"] and 1400 < fits < 1600
    status, body = await gateway.call("POST", "/v1/conversations", {**request, "message": "x" * fits})
    assert status == 201, body
    [sent] = await wait_for(lambda: _raw(gateway, ALEX), what="the notification")
    assert length(sent) <= MAX_BODY and sent.startswith("Pat via Acme Housing: xxx")


async def test_a_web_message_that_would_not_fit_is_refused(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    path = f"/v1/conversations/{conversation['id']}/messages"
    status, body = await gateway.call("POST", path, {"from": "advocate", "body": EMOJI * 800})
    assert (status, body["error"]["code"]) == (422, "message_too_long"), body
    fits = body["error"]["max_length"]
    status, body = await gateway.call("POST", path, {"from": "advocate", "body": "y" * fits})
    assert status == 201, body
    [sent] = await wait_for(lambda: _raw(gateway, PAT), what="the relayed message")
    assert length(sent) <= MAX_BODY  # Pat's first text: it carries the sender identification


async def test_a_long_relayed_text_goes_out_in_order_in_parts_that_fit(gateway):
    """A text of 1,600 characters gains the code prefix and, as Pat's first text, the sender identification."""
    community = await gateway.community()
    first = await gateway.conversation(community["id"])
    await gateway.conversation(community["id"], prospect=(SAM, "Sam"))  # Alex now needs codes on PROXY
    words = [f"w{n:03d}" for n in range(318)]  # 318 words of 4 letters: 1,589 characters, 1,593 with the code
    text = " ".join(words)
    assert (await gateway.sms(ALEX, PROXY, f"#{first['code']} {text}"))[0] == 200
    parts = await wait_for(lambda: _raw(gateway, PAT, 2), what="two parts to Pat")
    assert all(length(part) <= MAX_BODY for part in parts)
    assert unwrap(parts[0]) != parts[0]  # the identification, in the first part only (the next line checks)
    assert " ".join([unwrap(parts[0]), *parts[1:]]).split() == words  # whole words, all of them, in order


async def test_the_send_path_never_hands_an_empty_body_to_the_carrier(gateway, db):
    community = await gateway.community()
    # Pat has texted the community (stored as production stores a text that asks no reply), so nothing wraps the
    # body in the sender identification.
    texted = await messages.store_inbound_with_reply(
        db, sender=PAT, proxy=PROXY, body="Hello", media_urls=[], carrier_sid="SM" + "a" * 32, segments=1, reply="",
        reply_kind=MessageKind.AUTO_REPLY, reply_priority=Priority.BULK, reply_segments=0)
    assert texted.inbound_id is not None and texted.reply is None
    # A relay whose body is one space (the API refuses such a text; the send path must refuse it too).
    stored = await messages.insert_outbound_message(
        db, community_id=community["id"], conversation_id=None, kind=MessageKind.RELAY, priority=Priority.RELAY,
        from_number=PROXY, to_number=PAT, body=" ", segments=1)
    assert await gateway.dispatcher.dispatch(stored, Priority.RELAY, PROXY)

    async def failed():
        message = await gateway.message(stored.id)
        return message if message["status"] == "failed" else None

    message = await wait_for(failed, what="the empty message failed")
    assert message["error_code"] == "body_empty", message
    assert gateway.carrier.sent == []


async def _raw(gateway, phone, count=1):
    bodies = gateway.carrier.raw_bodies_to(phone)
    return bodies if len(bodies) >= count else None
