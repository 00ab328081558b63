"""A community's out-of-session URL: a text from someone with no open conversation on the number goes there
(signed, retried) instead of the auto-reply; a platform that opens a conversation for it gets the text relayed."""

from __future__ import annotations

import asyncio


from tests.helpers import ALEX, PROXY, SAM, wait_for
from tests.test_intercept import Reply

FAST = {"interval": 0.05, "timeout": 1.0}


async def _outcome(gateway) -> str | None:
    return await gateway.pool.fetchval("SELECT outcome FROM platform_callbacks WHERE kind = 'out_of_session'")


async def _auto_replies(gateway) -> int:
    return await gateway.pool.fetchval("SELECT count(*) FROM messages WHERE kind = 'auto_reply'")


async def test_the_platform_is_told_instead_of_the_auto_reply(start_gateway, platform):
    gateway = await start_gateway(hooks=FAST)
    community = await gateway.community(out_of_session_url=platform.url)
    assert community["out_of_session_url"] == platform.url
    assert (await gateway.sms(SAM, PROXY, "Hi, is the flat still free?"))[0] == 200
    await wait_for(lambda: platform.got(1), what="the platform told")
    [payload] = platform.received
    assert payload["type"] == "message.out_of_session" and platform.forged == 0
    data = payload["data"]
    assert data["community_id"] == community["id"]
    assert {k: data["message"][k] for k in ("from", "to", "body")} == {
        "from": SAM, "to": PROXY, "body": "Hi, is the flat still free?"}
    await wait_for(lambda: _outcome(gateway), what="the callback finished")
    assert await _outcome(gateway) == "not_opened"  # answered 200 without opening a conversation
    await asyncio.sleep(0.2)
    assert await _auto_replies(gateway) == 0 and gateway.carrier.bodies_to(SAM) == []
    assert gateway.metrics.callbacks.labels("out_of_session", "not_opened")._value.get() == 1


async def test_a_conversation_the_platform_opens_gets_the_text(start_gateway, platform):
    gateway = await start_gateway(hooks=FAST)
    community = await gateway.community(out_of_session_url=platform.url)
    opened = {}

    async def open_conversation(payload: dict) -> None:
        # The platform's answer: open a conversation through the API, then answer 2xx.
        opened.update(await gateway.conversation(community["id"], prospect=(payload["data"]["message"]["from"], "Sam"),
                                                 message="Sam texted the community number."))

    platform.replies.append(Reply(before=open_conversation))
    await gateway.sms(SAM, PROXY, "Hi, is the flat still free?")
    # The notification is queued first; with the tests' fast rate both go out at once, in either order.
    bodies = await gateway.delivered_to(ALEX, 2)
    assert sorted(bodies) == ["Hi, is the flat still free?",
                              "Sam via Acme Housing: Sam texted the community number. (Reply to this number to answer.)"]
    assert await _outcome(gateway) == "relayed"
    messages = await gateway.messages(opened["id"])
    assert [m["kind"] for m in messages] == ["inbound", "notification", "relay"]  # by id: the text came first
    assert await _auto_replies(gateway) == 0


async def test_a_failed_callback_is_tried_again(start_gateway, platform):
    gateway = await start_gateway(hooks=FAST)
    await gateway.community(out_of_session_url=platform.url)
    platform.replies.append(Reply(status=503))
    await gateway.sms(SAM, PROXY, "Hello?")
    await wait_for(_outcome_is(gateway, "not_opened"), timeout=10, what="the second try answered")
    assert len(platform.received) == 2
    assert platform.received[0]["data"] == platform.received[1]["data"]
    assert platform.headers[0]["webhook-id"] == platform.headers[1]["webhook-id"]


async def test_without_a_url_the_auto_reply_goes_as_before(start_gateway, platform):
    gateway = await start_gateway(hooks=FAST)
    await gateway.community()
    await gateway.sms(SAM, PROXY, "Hello?")
    assert await gateway.delivered_to(SAM) == [gateway.config.relay.unrouted_reply]
    assert platform.received == []
    assert await gateway.pool.fetchval("SELECT count(*) FROM platform_callbacks") == 0


def _outcome_is(gateway, wanted: str):
    async def check() -> bool:
        return await _outcome(gateway) == wanted
    return check
