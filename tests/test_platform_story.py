"""The README's platform story ("A platform's integration, start to end") as a platform runs it: the example
receiver (examples/event_receiver.py) as its own process verifying events with the standardwebhooks library, a
conversation opened twice with one Idempotency-Key, a text relayed, and the lists walked to their end. The receiver: the receiver_process fixture (tests/conftest.py)."""

from tests.helpers import ALEX, PAT, PROXY, TOKEN, wait_for


async def _resolved(value):
    return value


async def _open(gateway, community_id: int) -> tuple[int, dict, dict]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "lead-5512"}
    body = {"community_id": community_id, "prospect": {"phone": PAT, "name": "Pat"},
            "advocate": {"phone": ALEX, "name": "Alex"}, "message": "Is parking included?"}
    async with gateway.client.post("/v1/conversations", json=body, headers=headers) as response:
        return response.status, dict(response.headers), await response.json()


async def test_the_readme_story_runs_with_the_example_receiver(gateway, receiver_process):
    start, lines = receiver_process
    community = await gateway.community(mode="live", require_verification=False)
    status, secret = await gateway.call("GET", f"/v1/communities/{community['id']}/event-secret")
    assert status == 200
    url = await start(secret["secret"])
    status, _ = await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"event_url": url})
    assert status == 200

    first, second = await _open(gateway, community["id"]), await _open(gateway, community["id"])
    assert first[0] == second[0] == 201 and first[2] == second[2]
    assert second[1].get("Idempotent-Replayed") == "true"
    await gateway.delivered_to(ALEX)  # once: the retry sent nothing
    await gateway.sms(ALEX, PROXY, "Yes, one space per unit.")
    await gateway.delivered_to(PAT)

    def types() -> list[str]:
        return [line.split(" ")[1] for line in lines if line.startswith("evt_")]

    await wait_for(lambda: _resolved({"conversation.opened", "message.received", "message.relayed"} <= set(types())),
                   timeout=10, what="the events at the example receiver")
    assert types().count("conversation.opened") == 1
    assert not any(line.startswith("refused") for line in lines)
    assert [form["To"] for form in gateway.carrier.sent].count(ALEX) == 1

    seen, cursor = [], None
    while True:
        query = f"community_id={community['id']}&limit=1" + (f"&cursor={cursor}" if cursor else "")
        status, page = await gateway.call("GET", f"/v1/messages?{query}")
        assert status == 200 and len(page["messages"]) <= 1
        seen += [message["id"] for message in page["messages"]]
        if not (cursor := page.get("next")):
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == 3  # the notification, the text, its relayed copy

    # Step 6: the secret rotated, the receiver still on the old one verifies everything within the grace window.
    status, rotated = await gateway.call("POST", f"/v1/communities/{community['id']}/event-secret/rotate")
    assert status == 200 and rotated["secret"] != secret["secret"] and rotated["version"] == 1
    await gateway.sms(PAT, PROXY, "Thanks!")
    await wait_for(lambda: _resolved(types().count("message.received") == 2), timeout=10,
                   what="an event after the rotation at the receiver with the old secret")
    assert not any(line.startswith("refused") for line in lines)
