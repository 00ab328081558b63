"""Events (issue 12): each type emitted by driving the gateway as the platform and the carrier do, received by a
local receiver and verified with the standardwebhooks library; retries with one webhook-id; stored with the
change; the delivery log and replays; nothing stored for a community with nowhere to send events."""

import re
from pathlib import Path

from standardwebhooks import Webhook

from gateway.storage.db import SQL_DIR
from gateway.vocabulary import EventType
from tests.fakes import HookReceiver, Reply
from tests.helpers import ALEX, PAT, PROXY, SAM, sql_functions, wait_for


async def _secret(gateway, community_id=None) -> str:
    path = "/v1/event-secret" if community_id is None else f"/v1/communities/{community_id}/event-secret"
    status, body = await gateway.call("GET", path)
    assert status == 200, body
    assert body["secret"].startswith("whsec_")
    return body["secret"]


def _verified(receiver: HookReceiver, secret: str) -> list[dict]:
    """Every POST received, verified (raises on a bad signature), as (webhook-id, body) pairs in order."""
    hook = Webhook(secret)
    return [{"id": post["headers"]["webhook-id"], **hook.verify(post["body"], post["headers"])}
            for post in receiver.received]


async def _types(gateway, receiver, secret, *wanted, timeout=8.0) -> dict[str, list[dict]]:
    """Wait until every wanted type was received; the verified events by type."""
    async def check():
        found: dict[str, list[dict]] = {}
        for event in _verified(receiver, secret):
            found.setdefault(event["type"], []).append(event)
        return found if set(wanted) <= set(found) else None

    return await wait_for(check, timeout, f"events {wanted}")


async def _sid_of(db, message_id):
    return await db.fetchval("SELECT carrier_sid FROM messages WHERE id = $1 AND status = 'accepted'", message_id)


async def _sent_sid(db, to, status="accepted"):
    return await db.fetchval("SELECT carrier_sid FROM messages WHERE to_number = $1 AND status = $2 "
                             "ORDER BY id DESC LIMIT 1", to, status)


async def test_a_conversation_s_events_arrive_signed_in_the_standard_webhooks_format(gateway, hook_receiver, db):
    community = await gateway.community(event_url=hook_receiver.url)
    assert community["event_url"] == hook_receiver.url and community["event_types"] is None
    secret = await _secret(gateway, community["id"])
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    await gateway.sms(PAT, PROXY, "Is Saturday fine?")
    relayed = (await _types(gateway, hook_receiver, secret, "message.relayed"))["message.relayed"][0]["data"]
    sid = await wait_for(lambda: _sid_of(db, relayed["message_id"]), what="the relayed copy accepted")
    assert (await gateway.status(sid, "delivered"))[0] == 200
    await gateway.call("POST", f"/v1/conversations/{conversation['id']}/close", {"reason": "moved in"})
    found = await _types(gateway, hook_receiver, secret, "conversation.opened", "message.received",
                         "message.relayed", "message.status_changed", "conversation.closed")
    ids = {"community_id": community["id"], "conversation_id": conversation["id"]}
    opened = found["conversation.opened"][0]
    assert opened["data"] == {**ids, "number": PROXY, "code": conversation["code"], "prospect_phone": PAT,
                              "advocate_phone": ALEX}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", opened["timestamp"])
    received = found["message.received"][0]["data"]
    assert {**received, "message_id": 0} == {**ids, "message_id": 0, "from": PAT, "to": PROXY,
                                            "body": "Is Saturday fine?", "media_urls": [], "segments": 1}
    relayed = found["message.relayed"][0]["data"]
    assert relayed["inbound_message_id"] == received["message_id"] and relayed["to"] == ALEX
    assert relayed["status"] == "queued" and relayed["reason"] is None
    statuses = {(e["data"]["message_id"], e["data"]["status"]) for e in found["message.status_changed"]}
    assert (relayed["message_id"], "accepted") in statuses and (relayed["message_id"], "delivered") in statuses
    assert found["conversation.closed"][0]["data"] == {**ids, "reason": "moved in"}
    counted = gateway.metrics.events.labels("message.received", "delivered")
    await wait_for(lambda: _resolved(counted._value.get() == 1), what="the delivery counted")


async def _resolved(value):
    return value


async def test_stop_blocked_relay_held_message_and_expiry_are_events(gateway, hook_receiver, db):
    community = await gateway.community(event_url=hook_receiver.url, inactivity_days=2)
    secret = await _secret(gateway, community["id"])
    conversation = await gateway.conversation(community["id"])
    await gateway.sms(ALEX, PROXY, "STOP")
    await gateway.sms(PAT, PROXY, "Hello?")  # relayed to Alex, who opted out: stored as blocked
    await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"monthly_limit": 0})
    await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                       {"from": "advocate", "body": "Over the limit"})  # held at send time
    await db.execute("UPDATE conversations SET last_activity_at = now() - interval '3 days' WHERE id = $1",
                     conversation["id"])
    found = await _types(gateway, hook_receiver, secret, "contact.preference_changed", "message.blocked",
                         "message.held", "conversation.expired")
    assert found["contact.preference_changed"][0]["data"] == {
        "community_id": community["id"], "phone": ALEX, "preference": "opted_out", "previous": "unknown",
        "keyword": "STOP", "number": PROXY}
    # The relayed copy, blocked as it is stored (the notification may be blocked at send time too, after STOP).
    [blocked] = [e["data"] for e in found["message.blocked"] if "inbound_message_id" in e["data"]]
    assert (blocked["to"], blocked["status"], blocked["reason"]) == (ALEX, "blocked", "opted_out")
    held = found["message.held"][0]["data"]
    assert (held["to"], held["reason"]) == (PAT, "monthly_limit")
    assert found["conversation.expired"][0]["data"] == {
        "community_id": community["id"], "conversation_id": conversation["id"], "reason": "inactive"}


async def test_dnd_set_and_lifted_are_events(gateway, hook_receiver, db):
    community = await gateway.community(event_url=hook_receiver.url)
    secret = await _secret(gateway, community["id"])
    conversation = await gateway.conversation(community["id"])
    for i in range(3):  # three unreachable failures: a temporary DND
        if i:
            await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                               {"from": "prospect", "body": f"try {i}"})
        sid = await wait_for(lambda: _sent_sid(db, ALEX), what="accepted")
        await gateway.status(sid, "undelivered", error_code="30003")
    async with gateway.client.delete(f"/v1/communities/{community['id']}/dnd/%2B14155552672",
                                     headers={"Authorization": "Bearer test-api-token"}) as response:
        assert response.status == 204
    found = await _types(gateway, hook_receiver, secret, "dnd.set", "dnd.lifted")

    async def three_undelivered():  # posted concurrently: the third may come after the DND events
        statuses = [e["data"]["status"] for e in _verified(hook_receiver, secret) if e["type"] == "message.status_changed"]
        return statuses.count("undelivered") == 3

    await wait_for(three_undelivered, what="the three undelivered statuses")
    found = await _types(gateway, hook_receiver, secret, "dnd.set", "dnd.lifted")
    dnd_set = found["dnd.set"][0]["data"]
    assert (dnd_set["phone"], dnd_set["dnd"], dnd_set["reason"]) == (ALEX, "temporary", "30003")
    assert found["dnd.lifted"][0]["data"] == {"community_id": community["id"], "phone": ALEX, "dnd": "temporary"}
    failed = [e["data"] for e in found["message.status_changed"] if e["data"]["status"] == "undelivered"]
    assert len(failed) == 3 and {e["error_code"] for e in failed} == {"30003"}


async def test_a_receiver_that_fails_then_recovers_gets_each_event_once_with_one_webhook_id(gateway, hook_receiver):
    hook_receiver.failures = 2
    community = await gateway.community(event_url=hook_receiver.url, event_types=["conversation.opened"])
    secret = await _secret(gateway, community["id"])
    await gateway.conversation(community["id"])
    await wait_for(lambda: _count(hook_receiver, 3), timeout=10, what="two failures and a delivery")
    events = _verified(hook_receiver, secret)
    assert {event["id"] for event in events} == {events[0]["id"]}  # the same webhook-id on every try
    assert {event["type"] for event in events} == {"conversation.opened"}  # the filter kept the rest out
    # The answer is recorded just after the receiver answered.
    await wait_for(lambda: _all_delivered(gateway, f"/v1/communities/{community['id']}/events", 1),
                   what="the delivery recorded")
    status, log = await gateway.call("GET", f"/v1/communities/{community['id']}/events")
    assert [(e["type"], e["status"], e["attempts"], e["webhook_id"]) for e in log["events"]] == [
        ("conversation.opened", "delivered", 3, events[0]["id"])]
    assert log["events"][0]["last_error"] == "answered 500" and log["next"] is None


async def _count(receiver, count):
    return len(receiver.received) >= count


async def test_an_event_is_stored_with_its_change_and_another_gateway_delivers_it(start_gateway, hook_receiver):
    # This gateway never posts (its poster's interval is an hour): its events must outlive it.
    first = await start_gateway(hooks={"interval": 3600.0})
    community = await first.community(event_url=hook_receiver.url, event_types=["conversation.opened",
                                                                               "conversation.closed"])
    conversation = await first.conversation(community["id"])
    await first.call("POST", f"/v1/conversations/{conversation['id']}/close")
    await first.client.close()
    second = await start_gateway()
    secret = await _secret(second, community["id"])
    found = await _types(second, hook_receiver, secret, "conversation.opened", "conversation.closed")
    assert found["conversation.closed"][0]["data"]["conversation_id"] == conversation["id"]


async def test_the_log_pages_with_a_cursor_filters_and_replays(start_gateway, hook_receiver):
    gateway = await start_gateway(hooks={"max_attempts": 1})
    hook_receiver.failures = 1000  # down: every first try fails, and one try is all there is
    community = await gateway.community(event_url=hook_receiver.url, event_types=["conversation.opened"])
    path = f"/v1/communities/{community['id']}/events"
    for prospect in (PAT, SAM):
        await gateway.conversation(community["id"], prospect=(prospect, "P"))
    await wait_for(lambda: _all_failed(gateway, path, 2), what="both deliveries given up")
    pages, cursor = [], None
    while True:  # walked to the end, one at a time, newest first
        status, page = await gateway.call("GET", path + "?limit=1&status=failed&type=conversation.opened"
                                          + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200, page
        pages += page["events"]
        if not (cursor := page["next"]):
            break
    assert [e["payload"]["data"]["prospect_phone"] for e in pages] == [SAM, PAT]
    hook_receiver.failures = 0
    status, body = await gateway.call("POST", f"{path}/{pages[1]['id']}/replay")
    assert (status, body) == (202, {"id": pages[1]["id"], "status": "pending"})
    await wait_for(lambda: _count(hook_receiver, 3), what="the replay delivered")
    assert hook_receiver.received[-1]["headers"]["webhook-id"] == pages[1]["webhook_id"]
    status, body = await gateway.call("POST", f"{path}/replay", {"status": "failed",
                                                                 "since": "2020-01-01T00:00:00Z"})
    assert (status, body) == (202, {"replayed": [pages[0]["id"]]})
    await wait_for(lambda: _all_delivered(gateway, path, 2), what="every delivery delivered")
    _verified(hook_receiver, await _secret(gateway, community["id"]))


async def _all_failed(gateway, path, count):
    status, body = await gateway.call("GET", path + "?status=failed")
    return len(body["events"]) == count


async def _all_delivered(gateway, path, count):
    status, body = await gateway.call("GET", path + "?status=delivered")
    return len(body["events"]) == count


async def test_the_log_and_replay_refuse_what_is_not_theirs(gateway, hook_receiver):
    community = await gateway.community(event_url=hook_receiver.url)
    other = await gateway.community(numbers=["+14155550101"], name="Other")
    path = f"/v1/communities/{community['id']}/events"
    for query, code in (("?cursor=nonsense", "invalid_query"), ("?status=lost", "invalid_query"),
                        ("?type=message.lost", "invalid_query"), ("?limit=0", "invalid_query")):
        status, body = await gateway.call("GET", path + query)
        assert (status, body["error"]["code"]) == (422, code), query
    await gateway.conversation(community["id"])
    await wait_for(lambda: _count(hook_receiver, 1), what="a delivery")
    status, body = await gateway.call("GET", path)
    delivery_id = body["events"][0]["id"]
    status, body = await gateway.call("POST", f"/v1/communities/{other['id']}/events/{delivery_id}/replay")
    assert (status, body["error"]["code"]) == (404, "delivery_not_found")
    status, body = await gateway.call("POST", f"{path}/replay", {"since": "yesterday"})
    assert (status, body["error"]["code"]) == (422, "invalid_field")
    for bad in (["message.lost"], [], ["dnd.set", "dnd.set"], "dnd.set"):
        status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"event_types": bad})
        assert status == 422, bad
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}",
                                      {"event_types": ["dnd.set"], "event_url": None})
    assert (status, body["event_types"], body["event_url"]) == (200, ["dnd.set"], None)


async def test_no_url_no_events_stored(gateway, db):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.sms(PAT, PROXY, "Hello")
    await gateway.sms(SAM, PROXY, "STOP")
    await gateway.delivered_to(ALEX, 2)
    await gateway.call("POST", f"/v1/conversations/{conversation['id']}/close")
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 0


async def test_the_gateway_wide_url_gets_every_community_s_events_with_the_gateway_secret(
        start_gateway, aiohttp_server):
    everything = HookReceiver()
    server = await aiohttp_server(everything.app())
    everything.url = str(server.make_url("/hook"))
    gateway = await start_gateway(hooks={"event_url": everything.url})
    status, body = await gateway.call("GET", "/v1/event-secret")
    assert body["url"] == everything.url
    community = await gateway.community()  # no URL of its own
    await gateway.conversation(community["id"])
    found = await _types(gateway, everything, body["secret"], "conversation.opened")
    assert found["conversation.opened"][0]["data"]["community_id"] == community["id"]
    community_secret = await _secret(gateway, community["id"])
    assert community_secret != body["secret"]  # a community's secret signs only its own URL's events


async def test_the_older_alert_and_opt_out_urls_get_their_event_types(gateway, hook_receiver, db):
    gateway.carrier.then(Reply(400, 21610, "Attempt to send to unsubscribed recipient"))
    community = await gateway.community(opt_out_webhook_url=hook_receiver.url)
    await gateway.conversation(community["id"])
    await gateway.sms(SAM, PROXY, "STOP")
    secret = await _secret(gateway, community["id"])
    await _types(gateway, hook_receiver, secret, "contact.preference_changed")
    assert {event["type"] for event in _verified(hook_receiver, secret)} == {"contact.preference_changed"}


async def test_every_event_type_the_sql_emits_is_in_the_vocabulary(db):
    named = set()
    texts = [path.read_text() for path in (Path(SQL_DIR) / "queries").glob("*.sql")]
    for text in texts + list((await sql_functions(db)).values()):  # conversation.closed: end_conversations's
        named |= set(re.findall(r"'((?:message|conversation|contact|dnd|community|template)\.[a-z_]+)'", text))
    named |= {"message.blocked", "message.held"}  # begin_send's are 'message.' || status
    emitted_in_python = {EventType.COMMUNITY_WARNED, EventType.COMMUNITY_RESTRICTED}
    assert named | emitted_in_python == set(EventType)


def test_the_event_body_is_what_the_readme_documents():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for event_type in EventType:
        assert f"`{event_type}`" in readme, event_type


async def test_a_canceled_message_is_a_status_changed_event(gateway, hook_receiver):
    """Every status is an event (issue 12): a held text canceled, and one canceled by its number's removal."""
    community = await gateway.community(numbers=(PROXY, "+14155550101"), event_url=hook_receiver.url,
                                        event_types=["message.status_changed"], monthly_limit=0)
    secret = await _secret(gateway, community["id"])
    conversation = await gateway.conversation(community["id"])
    held = conversation["notification"]

    async def is_held(message_id=held["id"]):
        return (await gateway.message(message_id))["status"] == "held"

    await wait_for(is_held, what="the notification held for the monthly limit")
    status, _ = await gateway.call("POST", f"/v1/messages/{held['id']}/cancel")
    assert status == 200
    second = await gateway.conversation(community["id"], prospect=(SAM, "Sam"))
    await wait_for(lambda: is_held(second["notification"]["id"]), what="the second notification held")
    status, removed = await gateway.call(
        "DELETE", f"/v1/communities/{community['id']}/numbers/{second['proxy_number'].replace('+', '%2B')}"
        "?close_conversations=true")
    assert status == 200 and removed["canceled_messages"] == 1, removed

    async def both_canceled():
        return {e["data"]["message_id"] for e in _verified(hook_receiver, secret)
                if e["data"]["status"] == "canceled"} == {held["id"], second["notification"]["id"]}

    await wait_for(both_canceled, what="two canceled events")
