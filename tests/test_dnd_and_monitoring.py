"""Do-not-disturb after carrier errors, and error/opt-out rate monitoring with warnings and restrictions."""

import asyncio
import json

import pytest

from gateway.compliance import rates as monitoring
from gateway.config import ComplianceSettings
from tests.fakes import Reply
from tests.helpers import ALEX, PROXY, SAM, TOKEN, wait_for


async def _delete(gateway, path):
    async with gateway.client.delete(path, headers={"Authorization": f"Bearer {TOKEN}"}) as response:
        return response.status, (await response.json() if response.content_type == "application/json" else None)


async def _contact(db, phone):
    return await db.fetchrow("SELECT dnd, dnd_reason FROM contacts WHERE phone = $1", phone)


async def test_21610_puts_the_phone_on_permanent_dnd_until_it_texts_start(gateway, db):
    gateway.carrier.then(Reply(400, 21610, "Attempt to send to unsubscribed recipient"))
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await wait_for(lambda: _dnd(db, ALEX), what="DND recorded")
    assert tuple(await _contact(db, ALEX)) == ("permanent", "21610")
    status, body = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                      {"from": "prospect", "body": "Hello?"})
    assert (status, body["error"]["code"]) == (409, "recipient_on_dnd")
    status, body = await _delete(gateway, f"/v1/communities/{community['id']}/dnd/{ALEX.replace('+', '%2B')}")
    assert (status, body["error"]["code"]) == (409, "dnd_permanent")
    await gateway.sms(ALEX, PROXY, "START")  # only the person lifts it
    await wait_for(lambda: _no_dnd(db, ALEX), what="DND lifted")
    status, _ = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                   {"from": "prospect", "body": "Welcome back"})
    assert status == 201
    assert "Welcome back" in await gateway.delivered_to(ALEX, 2)


async def _dnd(db, phone):
    row = await _contact(db, phone)
    return row is not None and row["dnd"] is not None


async def _no_dnd(db, phone):
    row = await _contact(db, phone)
    return row is not None and row["dnd"] is None


async def test_three_unreachable_failures_put_the_phone_on_temporary_dnd(gateway, db):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    for i in range(3):
        if i:
            await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                               {"from": "prospect", "body": f"try {i}"})
        await wait_for(lambda: _accepted_count(db, i + 1), what="accepted")
        sid = await db.fetchval("SELECT carrier_sid FROM messages WHERE status = 'accepted' ORDER BY id LIMIT 1")
        assert (await gateway.status(sid, "undelivered", error_code="30003"))[0] == 200
        if i < 2:  # two failures are not enough
            assert (await _contact(db, ALEX))["dnd"] is None
    assert tuple(await _contact(db, ALEX)) == ("temporary", "30003")
    status, body = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                      {"from": "prospect", "body": "blocked"})
    assert (status, body["error"]["code"]) == (409, "recipient_on_dnd")
    path = f"/v1/communities/{community['id']}/dnd/%2B14155552672"
    lifted = await _delete(gateway, path)
    assert lifted[0] == 204, lifted  # an operator lifts a temporary DND
    assert (await _delete(gateway, path))[1]["error"]["code"] == "not_on_dnd"
    status, body = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                      {"from": "prospect", "body": "through again"})
    assert status == 201 and body["status"] != "blocked"


async def _accepted_count(db, count):
    return await db.fetchval("SELECT count(*) FROM messages WHERE status IN ('accepted', 'undelivered')") >= count


@pytest.mark.parametrize("current, sent, errors, opt_outs, recipients, expected", [
    ("ok", 49, 49, 0, 1, "ok"),  # too few to judge
    ("ok", 100, 5, 0, 100, "ok"),
    ("ok", 100, 6, 0, 100, "warning"),
    ("ok", 100, 0, 2, 100, "warning"),
    ("warning", 100, 10, 0, 100, "restricted"),
    ("ok", 100, 0, 3, 100, "restricted"),
    ("warning", 100, 1, 0, 100, "ok"),
    ("restricted", 100, 0, 0, 100, "restricted"),  # only an operator lifts it
])
def test_judge(current, sent, errors, opt_outs, recipients, expected):
    measured = monitoring.rates(sent, errors, recipients, opt_outs)
    assert monitoring.judge(current, sent, measured, ComplianceSettings()) == expected


async def _one_in_four_failed(gateway, db, conversation):
    """Three texts after the notification, all with the carrier; then the first of the four failed: an error rate
    of 25%, past the 10% restriction."""
    for i in range(3):
        await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                           {"from": "prospect", "body": f"m{i}"})
    await gateway.delivered_to(ALEX, 4)
    await wait_for(lambda: _accepted_count(db, 4), what="accepted")
    sid = await db.fetchval("SELECT carrier_sid FROM messages WHERE carrier_sid IS NOT NULL ORDER BY id LIMIT 1")
    await gateway.status(sid, "failed", error_code="30007")


async def test_high_error_rate_restricts_until_an_operator_lifts_it(start_gateway, db, hook_receiver):
    gateway = await start_gateway(compliance={"monitor_interval": 0.2, "monitor_min_sent": 4})
    community = await gateway.community(alert_webhook_url=hook_receiver.url)
    conversation = await gateway.conversation(community["id"])
    await _one_in_four_failed(gateway, db, conversation)

    async def restricted():
        status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
        return body["compliance"] if body["compliance"]["state"] == "restricted" else None

    compliance = await wait_for(restricted, what="restricted")
    assert compliance["error_rate"] == 0.25 and compliance["opt_out_rate"] == 0.0
    await wait_for(lambda: _delivered(hook_receiver), what="alert webhook")
    assert json.loads(hook_receiver.received[0]["body"])["type"] == "community.restricted"

    # Restricted: held, except keyword confirmations.
    status, message = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                         {"from": "prospect", "body": "held back"})
    assert status == 201, message
    await wait_for(lambda: _held(db, message["id"]), what="held")
    await gateway.sms(SAM, PROXY, "HELP")
    assert len(await gateway.delivered_to(SAM)) == 1

    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/restriction/lift")
    assert (status, body["compliance"]["state"]) == (200, "ok")
    assert "held back" in await gateway.delivered_to(ALEX, 5)
    await wait_for(lambda: _status(gateway, message["id"], "accepted"), what="the held message sent")
    history = [h["status"] for h in (await gateway.message(message["id"]))["history"]]
    assert history == ["queued", "held", "queued", "accepted"], history  # held, then sent once lifted
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/restriction/lift")
    assert (status, body["error"]["code"]) == (409, "not_restricted")


async def _compliance_gauge(gateway, community_id):
    """The community's gateway_community_compliance_state in the gateway's /metrics (None: not shown)."""
    async with gateway.client.get("/metrics") as response:
        text = await response.text()
    line = f'gateway_community_compliance_state{{community="{community_id}"}} '
    return next((float(row[len(line):]) for row in text.splitlines() if row.startswith(line)), None)


async def test_every_process_shows_a_communitys_state_and_a_lift_at_once(start_gateway, db):
    """Only the process whose monitor pass measured a community had its gauges, and it kept them: a lifted
    community that sent nothing since stayed at 2 (restricted), so the alert (max by community) fired on."""
    settings = {"monitor_interval": 0.2, "monitor_min_sent": 4}
    gateway = await start_gateway(compliance=settings)
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await _one_in_four_failed(gateway, db, conversation)

    async def restricted():
        return await _compliance_gauge(gateway, community["id"]) == 2
    await wait_for(restricted, what="restricted, on the gauge")
    other = await start_gateway(compliance=settings)
    assert await _compliance_gauge(other, community["id"]) == 2

    status, body = await other.call("POST", f"/v1/communities/{community['id']}/restriction/lift")
    assert (status, body["compliance"]["state"]) == (200, "ok")
    await asyncio.sleep(0.6)  # a few monitor passes: none measures it again, as it sent nothing since the lift
    assert [await _compliance_gauge(g, community["id"]) for g in (gateway, other)] == [0, 0]


async def _status(gateway, message_id, status):
    return (await gateway.message(message_id))["status"] == status


async def _held(db, message_id):
    return await db.fetchval("SELECT status = 'held' AND status_reason = 'restricted' FROM messages WHERE id = $1",
                             message_id)


async def _delivered(receiver):
    return receiver.received
