"""Ending a conversation (closing it, its expiry, a phone's erasure or a number's removal closing it) cancels its
copies still waiting: for their text's pictures (held awaiting_media; the fetch, held open here by the carrier's
file store, then releases nothing and tells nothing), and for a WhatsApp participant's answer or opt-in (their next
message releases nothing into a conversation that is over). Queued copies still go: they were decided before it
ended."""

import asyncio

from tests.helpers import ALEX, PAT, PROXY, wait_for
from tests.test_media import FAST, mms, picture
from tests.test_whatsapp import WA_PAT, _setup, whatsapp_sent


async def _copy(gateway, conversation_id: int, **match) -> dict:
    async def find():
        found = [m for m in await gateway.messages(conversation_id) if m["kind"] == "relay"
                 and all(m.get(key) == value for key, value in match.items())]
        return found[-1] if found else None
    return await wait_for(find, what=f"the copy with {match}")


async def _now(value):
    return value


async def test_closing_cancels_copies_awaiting_their_pictures_and_the_fetch_releases_nothing(start_gateway, db):
    gateway = await start_gateway(media=FAST)
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    gate = asyncio.Event()
    url, content_type = gateway.carrier.media.add(picture(1), "image/png", gate=gate)
    me = url.rsplit("/", 1)[1]
    await gateway.sms(PAT, PROXY, "The lease", extra=mms((url, content_type)))
    await _copy(gateway, conversation["id"], status="held", status_reason="awaiting_media")
    await wait_for(lambda: _now(me in gateway.carrier.media.started), what="the fetch under way")

    status, _ = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/close", {})
    assert status == 200
    copy = await _copy(gateway, conversation["id"], status="canceled")
    assert copy["status_reason"] == "conversation_closed"

    gate.set()  # the file arrives: kept, and nothing released
    await wait_for(lambda: db.fetchval("SELECT state = 'stored' FROM message_media"), what="the picture kept")
    assert (await _copy(gateway, conversation["id"]))["status"] == "canceled"
    assert gateway.carrier.bodies_to(ALEX) == [gateway.carrier.bodies_to(ALEX)[0]]  # the notification alone
    assert await db.fetchval("SELECT count(*) FROM message_events WHERE message_id = $1 AND status = 'canceled'",
                             copy["id"]) == 1


async def test_closing_cancels_copies_held_for_a_whatsapp_answer(gateway):
    _, conversation = await _setup(gateway, opted_in=False)
    await gateway.sms(ALEX, PROXY, "Yes, utilities too.")
    await _copy(gateway, conversation["id"], status="held", status_reason="whatsapp_opt_in")
    status, _ = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/close", {})
    assert status == 200
    assert (await _copy(gateway, conversation["id"]))["status_reason"] == "conversation_closed"
    status, _ = await gateway.sms(WA_PAT, PROXY, "Hello?")  # opening the window releases in the webhook
    assert status == 200
    assert not [m for m in whatsapp_sent(gateway) if m.get("Body") == "Yes, utilities too."]
    assert (await _copy(gateway, conversation["id"]))["status"] == "canceled"


async def _waiting_for_its_picture(start_gateway):
    """Pat's text to Alex held for its picture, whose file store answers once the gate is set: (gateway, the
    community's id, the conversation's id, the held copy, the gate)."""
    gateway = await start_gateway(media=FAST)
    community_id = (await gateway.community())["id"]
    conversation_id = (await gateway.conversation(community_id))["id"]
    await gateway.delivered_to(ALEX)
    gate = asyncio.Event()
    await gateway.sms(PAT, PROXY, "", extra=mms(gateway.carrier.media.add(picture(1), "image/png", gate=gate)))
    held = await _copy(gateway, conversation_id, status="held", status_reason="awaiting_media")
    return gateway, community_id, conversation_id, held, gate


async def test_expiry_cancels_them_too(start_gateway, db):
    gateway, _, conversation_id, _, gate = await _waiting_for_its_picture(start_gateway)
    await db.execute("UPDATE conversations SET last_activity_at = now() - interval '400 days'")
    copy = await _copy(gateway, conversation_id, status="canceled")
    assert copy["status_reason"] == "conversation_expired"
    gate.set()


async def test_erasing_a_phone_cancels_the_copies_of_its_conversations_too(start_gateway, db):
    """An erasure closes the phone's conversations as a closing does (end_conversations): Pat's text to Alex, held
    for its picture, is canceled; it stayed held for good (the erasure deletes the picture's row, so the fetch had
    nothing to finish and released nothing)."""
    gateway, community_id, _, held, gate = await _waiting_for_its_picture(start_gateway)
    status, erased = await gateway.call("POST", f"/v1/communities/{community_id}/erasures", {"phone": PAT})
    assert (status, erased["counts"]["conversations_closed"]) == (201, 1), erased
    copy = await gateway.message(held["id"])
    assert (copy["status"], copy["status_reason"]) == ("canceled", "conversation_closed")
    assert await db.fetchval("SELECT count(*) FROM message_events WHERE message_id = $1 AND status = 'canceled'",
                             held["id"]) == 1
    gate.set()
