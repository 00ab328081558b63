"""Adding a number to a community and taking one from it: conversations on it, routes, queued texts, carriers."""

from __future__ import annotations

from gateway.routing.table import route_key
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, PROXY_3, SAM, wait_for


async def test_a_number_added_is_used_and_says_its_carrier(start_gateway):
    gateway = await start_gateway(carrier={"also": "sandbox"})
    community = await gateway.community(numbers=(PROXY,))
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/numbers",
                                      {"phone": "(415) 555-0101", "carrier": "sandbox"})
    assert status == 201, body
    assert body["numbers"] == [PROXY, PROXY_2]
    assert body["carriers"] == {PROXY: "twilio", PROXY_2: "sandbox"}
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/numbers", {"phone": PROXY_3})
    assert (status, body["carriers"][PROXY_3]) == (201, "twilio")


async def test_a_number_is_refused_when_taken_or_unknown(gateway):
    first = await gateway.community(numbers=(PROXY,))
    other = await gateway.community(numbers=(PROXY_2,), name="Other")
    for community, body, code in [(first, {"phone": PROXY_2}, "number_taken"),
                                  (first, {"phone": PROXY}, "number_taken"),
                                  (first, {"phone": PROXY_3, "carrier": "nobody"}, "unknown_carrier"),
                                  (first, {"phone": "12"}, "invalid_number"),
                                  (other, {}, "missing_field")]:
        status, answer = await gateway.call("POST", f"/v1/communities/{community['id']}/numbers", body)
        assert (status // 100, answer["error"]["code"]) == (4, code), answer
    assert (await gateway.call("POST", "/v1/communities/99/numbers", {"phone": PROXY_3}))[0] == 404


async def test_removing_a_number_with_open_conversations_is_refused_unless_asked(gateway, db):
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    conversation = await gateway.conversation(community["id"])
    proxy = conversation["proxy_number"]
    path = f"/v1/communities/{community['id']}/numbers/{proxy}"
    status, body = await gateway.call("DELETE", path)
    assert (status, body["error"]["code"], body["error"]["open_conversations"]) == (409, "number_in_use", 1)
    await gateway.delivered_to(ALEX)
    status, body = await gateway.call("DELETE", path + "?close_conversations=true")
    assert (status, body) == (200, {"phone": proxy, "closed_conversations": [conversation["id"]],
                                    "canceled_messages": 0})
    status, closed = await gateway.call("GET", f"/v1/conversations/{conversation['id']}")
    assert (closed["status"], closed["closed_reason"]) == ("closed", "number_removed")
    # Routes gone from Redis as from Postgres; a text to the number now belongs to nobody.
    assert not await gateway.redis.exists(route_key(proxy, PAT), route_key(proxy, ALEX))
    assert (await gateway.sms(PAT, proxy, "Still there?"))[0] == 200
    assert await db.fetchval("SELECT community_id FROM messages WHERE body = 'Still there?'") is None
    status, shown = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert [n for n in (PROXY, PROXY_2) if n != proxy] == shown["numbers"] and shown["open_conversations"] == 0
    # The same pair can talk again, on the number that is left.
    again = await gateway.conversation(community["id"])
    assert again["proxy_number"] != proxy


async def test_removing_cancels_what_waits_to_go_from_the_number(gateway, db):
    community = await gateway.community(numbers=(PROXY, PROXY_2), monthly_limit=0)
    conversation = await gateway.conversation(community["id"])  # held: the monthly limit is 0
    await wait_for(lambda: db.fetchval("SELECT status = 'held' FROM messages WHERE id = $1",
                                       conversation["notification"]["id"]), 5.0, "the notification held")
    status, body = await gateway.call(
        "DELETE", f"/v1/communities/{community['id']}/numbers/{conversation['proxy_number']}?close_conversations=true")
    assert (status, body["canceled_messages"]) == (200, 1), body
    message = await gateway.message(conversation["notification"]["id"])
    assert (message["status"], message["status_reason"]) == ("canceled", "number_removed")


async def test_the_last_number_stays_and_unknown_ones_are_not_found(gateway):
    community = await gateway.community(numbers=(PROXY,))
    base = f"/v1/communities/{community['id']}/numbers"
    status, body = await gateway.call("DELETE", f"{base}/{PROXY}")
    assert (status, body["error"]["code"]) == (409, "last_number")
    other = await gateway.community(numbers=(PROXY_2,), name="Other")
    assert other
    for path, code in [(f"{base}/{PROXY_2}", "number_not_found"), (f"{base}/{PROXY_3}", "number_not_found"),
                       (f"/v1/communities/99/numbers/{PROXY}", "community_not_found")]:
        status, body = await gateway.call("DELETE", path)
        assert (status, body["error"]["code"]) == (404, code), body
    status, body = await gateway.call("DELETE", f"{base}/{PROXY}?close_conversations=maybe")
    assert (status, body["error"]["code"]) == (422, "invalid_query")


async def test_a_removed_number_can_join_another_community(gateway):
    first = await gateway.community(numbers=(PROXY, PROXY_2))
    conversation = await gateway.conversation(first["id"], prospect=(SAM, "Sam"))
    proxy = conversation["proxy_number"]
    assert (await gateway.call("DELETE", f"/v1/communities/{first['id']}/numbers/{proxy}"
                                         "?close_conversations=true"))[0] == 200
    second = await gateway.community(numbers=(PROXY_3,), name="Second")
    status, body = await gateway.call("POST", f"/v1/communities/{second['id']}/numbers", {"phone": proxy})
    assert status == 201 and proxy in body["numbers"], body
    # The old conversation keeps the number it used, as history.
    assert (await gateway.call("GET", f"/v1/conversations/{conversation['id']}"))[1]["proxy_number"] == proxy
