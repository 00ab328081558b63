"""Retention (gateway/compliance/retention.py): bodies blanked after retention.body_days, messages, ended
conversations and verifications deleted after retention.row_days, in batches that walk the table once; what is
young or still waiting stays. Age is made by moving rows' times back in Postgres, not by waiting."""

import asyncio

import asyncpg

from gateway.compliance import retention
from gateway.config_process import RetentionSettings
from tests.helpers import ALEX, PAT, PROXY, outbound_notification, wait_for

SAM = "+14155552673"


async def _age(db, days: int, where: str = "TRUE") -> None:
    await db.execute(f"UPDATE messages SET created_at = created_at - make_interval(days => {days}) WHERE {where}")


async def _conversation_with_texts(gateway) -> tuple[int, int]:
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    assert (await gateway.sms(ALEX, PROXY, "Parking is included"))[0] == 200
    await gateway.delivered_to(PAT)
    await wait_for(lambda: _all_sent(gateway.pool), 10, "every send recorded")
    return community["id"], conversation["id"]


async def _all_sent(db) -> bool | None:
    return await db.fetchval("SELECT count(*) FROM messages WHERE status IN ('queued', 'held', 'submitting')") == 0 \
        or None


async def _run(gateway, **settings) -> dict[str, int]:
    config = RetentionSettings(**{"body_days": 90, "row_days": 400, **settings})
    return await retention.run_pass(gateway.pool, gateway.metrics, config)


async def test_old_bodies_are_blanked_young_and_waiting_ones_stay(gateway, db):
    cid, conversation = await _conversation_with_texts(gateway)
    await _age(db, 100)
    waiting = await db.fetchval(
        "INSERT INTO messages (community_id, conversation_id, direction, kind, from_number, to_number, body, status, "
        "status_reason, created_at) VALUES ($1, $2, 'outbound', 'relay', $3, $4, 'held back', 'held', 'daily_limit', "
        "now() - interval '100 days') RETURNING id", cid, conversation, PROXY, PAT)
    assert (await gateway.sms(PAT, PROXY, "A young text"))[0] == 200
    old = await db.fetchval("SELECT count(*) FROM messages WHERE created_at < now() - interval '90 days' "
                            "AND status <> 'held'")

    done = await _run(gateway, batch=2)  # several batches: the walk goes on past each

    assert done["bodies_redacted"] == old >= 3
    assert await db.fetchval("SELECT body FROM messages WHERE id = $1", waiting) == "held back"
    assert await db.fetchval("SELECT count(*) FROM messages WHERE body = 'A young text'") >= 1
    assert await db.fetchval("SELECT count(*) FROM messages WHERE created_at > now() - interval '1 day' "
                             "AND redacted_at IS NOT NULL") == 0
    assert await db.fetchval("SELECT count(*) FROM messages WHERE created_at < now() - interval '90 days' "
                             "AND status <> 'held' AND (body <> '' OR redacted_at IS NULL)") == 0
    assert gateway.metrics.registry.get_sample_value("gateway_retention_rows_total",
                                                     {"rule": "bodies_redacted"}) == old
    assert (await _run(gateway))["bodies_redacted"] == 0  # the mark moved past them: nothing read twice


async def test_the_walk_stops_at_the_first_young_message(gateway, db):
    await _conversation_with_texts(gateway)
    first = await db.fetchval("SELECT min(id) FROM messages")
    await _age(db, 100, f"id = {first}")  # only the first is old; the later ones are young
    assert (await _run(gateway, batch=1000))["bodies_redacted"] == 1
    await _age(db, 100)  # now all are: the next pass takes the rest, from its mark
    assert (await _run(gateway, batch=1000))["bodies_redacted"] == await db.fetchval(
        "SELECT count(*) FROM messages") - 1


async def test_old_rows_go_with_their_history_and_ended_conversations(gateway, db):
    cid, conversation = await _conversation_with_texts(gateway)
    await gateway.call("POST", f"/v1/conversations/{conversation}/close")
    await gateway.call("POST", "/v1/verifications", {"community_id": cid, "phone": SAM})
    # every message recorded as handed to the carrier: one still waiting would (rightly) stay
    await wait_for(lambda: _all_sent(db), 10, "every send recorded")
    usage_before = await db.fetchval("SELECT coalesce(sum(segments), 0) FROM usage_counters")
    await _age(db, 500)
    await db.execute("UPDATE conversations SET closed_at = closed_at - interval '500 days'")
    await db.execute("UPDATE verifications SET created_at = created_at - interval '500 days'")
    await db.execute("UPDATE verification_sends SET sent_at = sent_at - interval '500 days'")

    done = await _run(gateway, batch=3)

    assert done["messages_deleted"] >= 4 and done["conversations_deleted"] == 1
    assert done["verifications_deleted"] == 1
    for table in ("messages", "message_events", "conversations", "conversation_participants", "participants",
                  "verifications", "verification_sends"):
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    # counts stay (a send's count may still be written after usage_before was read: never fewer)
    assert await db.fetchval("SELECT coalesce(sum(segments), 0) FROM usage_counters") >= usage_before > 0
    status, body = await gateway.call("GET", f"/v1/conversations/{conversation}")
    assert status == 404


async def test_an_open_conversation_keeps_its_row_and_young_messages(gateway, db):
    cid, conversation = await _conversation_with_texts(gateway)
    await _age(db, 500)
    assert (await gateway.sms(ALEX, PROXY, "Still here"))[0] == 200
    done = await _run(gateway)
    assert done["conversations_deleted"] == 0
    status, body = await gateway.call("GET", f"/v1/conversations/{conversation}")
    assert status == 200 and body["status"] == "open"
    assert [m["body"] for m in await gateway.messages(conversation) if m["direction"] == "inbound"] == ["Still here"]


async def test_zero_days_turns_a_rule_off(gateway, db):
    await _conversation_with_texts(gateway)
    await _age(db, 1000)
    assert await _run(gateway, body_days=0, row_days=0) == {}
    assert await db.fetchval("SELECT count(*) FROM messages WHERE body = ''") == 0


async def test_the_pass_runs_as_a_background_task(start_gateway, db):
    gateway = await start_gateway(retention={"interval": 0.2})
    await _conversation_with_texts(gateway)
    await _age(db, 100)

    async def redacted():
        return await db.fetchval("SELECT count(*) FROM messages WHERE redacted_at IS NOT NULL") or None

    assert await wait_for(redacted, 10, "the retention task's first pass")


async def test_a_broadcasts_old_messages_and_recipients_go_and_its_row_stays(start_gateway, db):
    from tests.test_sends import template
    gateway = await start_gateway("sandbox")
    community = (await gateway.community(quiet_hours=False))["id"]  # whatever the hour the suite runs at
    tid = await template(gateway, community, body="Your reward is ready.")
    status, broadcast = await gateway.call("POST", f"/v1/communities/{community}/broadcasts",
                                           {"template_id": tid, "audience": {"phones": [PAT, ALEX, "not a phone"]}})
    assert status == 201, broadcast

    async def finished():
        return await db.fetchval("SELECT finished_at FROM broadcasts WHERE id = $1", broadcast["id"])

    await wait_for(finished, 15, "the broadcast finished")
    await wait_for(lambda: _all_sent(gateway.pool), 10, "every send recorded")
    await _age(db, 500)
    await db.execute("UPDATE broadcasts SET finished_at = finished_at - interval '500 days'")

    done = await _run(gateway)

    assert done["messages_deleted"] == 2 and done["broadcast_recipients_deleted"] == 1  # the unreadable one
    assert await db.fetchval("SELECT count(*) FROM broadcast_recipients") == 0
    assert await db.fetchval("SELECT count(*) FROM broadcasts") == 1


async def test_a_status_callback_in_progress_does_not_fail_the_deletion_of_its_message(clean, db):
    """A carrier's late status callback holds its message's row and adds an event while retention deletes the
    message: retention waits for it and deletes that event too (migration 0045). Before, the event committed between
    forget_messages' two deletes, and the message could not be deleted (a foreign-key error failed the batch)."""
    _, stored = await outbound_notification(db)
    await db.execute("UPDATE messages SET status = 'sent' WHERE id = $1", stored.id)
    callback = await asyncpg.connect(clean.database_url)
    try:
        async with callback.transaction():
            await callback.execute("SELECT 1 FROM messages WHERE id = $1 FOR UPDATE", stored.id)
            await callback.execute("INSERT INTO message_events (message_id, status) VALUES ($1, 'delivered')",
                                   stored.id)
            forgetting = asyncio.ensure_future(db.fetchval("SELECT forget_messages($1::bigint[])", [stored.id]))

            async def waiting_for_the_row():
                return forgetting.done() or await callback.fetchval(
                    "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")

            await wait_for(waiting_for_the_row, what="retention waiting for the callback's row")
        assert await forgetting == 1
    finally:
        await callback.close()
    assert await db.fetchval("SELECT count(*) FROM message_events WHERE message_id = $1", stored.id) == 0
