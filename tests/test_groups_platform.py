"""Groups through the sandbox carrier (the README's walk-through) and with the platform's intercept (issue 13)."""

import asyncio


from tests.fakes import unwrap
from tests.helpers import ALEX, PAT, PROXY, SAM, wait_for
from tests.test_groups import KIM, open_group, open_team
from tests.test_intercept import FAST, Reply


async def _screen(gateway, phone) -> list[str]:
    status, body = await gateway.call("GET", "/sandbox/messages?phone=" + phone.replace("+", "%2B"))
    assert status == 200, body
    return [unwrap(message["body"]) for message in body["messages"]]


async def _texted(gateway, sender, body) -> str:
    status, answer = await gateway.call("POST", "/sandbox/inbound", {"from": sender, "to": PROXY, "body": body})
    assert status == 200, answer
    return answer["outcome"]


async def test_a_group_text_and_a_team_through_the_sandbox(start_gateway):
    gateway = await start_gateway(kind="sandbox")
    community = await gateway.community()
    group = await open_group(gateway, community["id"])
    assert await _texted(gateway, ALEX, "Friday works") == "relayed"

    async def on_screens():
        return [await _has(gateway, phone, "Alex: Friday works") for phone in (PAT, SAM)] == [True, True]

    await wait_for(on_screens, what="the copies on Pat's and Sam's screens")
    assert not [b for b in await _screen(gateway, ALEX) if "Friday works" in b]

    async def delivered():
        copies = [m for m in await gateway.messages(group["id"]) if m["kind"] == "relay"]
        return len(copies) == 2 and all(m["status"] == "delivered" for m in copies)

    await wait_for(delivered, what="sandbox delivery callbacks for each copy")

    team = await open_team(gateway, community["id"], customer={"phone": KIM, "name": "Kim"})
    assert team["proxy_number"] == PROXY  # Alex and Sam are in the group there too: codes tell them apart
    assert await _texted(gateway, ALEX, f"#{team['code']} Happy to help") == "relayed"
    await wait_for(lambda: _has(gateway, KIM, "Happy to help"), what="the customer's screen")
    await wait_for(lambda: _has(gateway, SAM, f"#{team['code']} Alex to Kim: Happy to help"), what="Sam's screen")


async def _has(gateway, phone, body) -> bool:
    return body in await _screen(gateway, phone)


async def test_the_intercept_sees_a_group_text_once_and_its_answer_reaches_everyone(start_gateway, platform):
    gateway = await start_gateway(hooks=FAST)
    community = await gateway.community(intercept_url=platform.url)
    group = await open_group(gateway, community["id"])
    await gateway.delivered_to(SAM)  # the intros: the platform's own words, never intercepted
    platform.replies.append(Reply(json={"body": "See you at 7 (details in the app)."}))
    await gateway.sms(PAT, PROXY, "See you at 7, call me on 555 0100")
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Pat: See you at 7 (details in the app)."
    assert (await gateway.delivered_to(SAM, 2))[1] == "Pat: See you at 7 (details in the app)."
    await asyncio.sleep(0.2)
    assert [p["type"] for p in platform.received] == ["message.intercept"]  # once, not once per copy
    copies = [(m["to"], m["status"]) for m in await gateway.messages(group["id"]) if m["kind"] == "relay"]
    assert copies[:2] == [(ALEX, "canceled"), (SAM, "canceled")] and {to for to, _ in copies[2:]} == {ALEX, SAM}
