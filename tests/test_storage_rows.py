"""The typed storage of communities, contacts, verifications, webhook deliveries, usage and held messages: each
function against the migrated schema, returning typed rows with the vocabulary's enums."""

from datetime import date

from gateway.storage import communities, contacts, events, held, line_types, messages, usage, verifications
from gateway.vocabulary import (CommunityMode, ComplianceState, DeliveryStatus, Dnd, EventType, HoldReason, MessageKind,
                                MessageStatus, Preference, Priority, UnknownLineType, UsageUnit,
                                VerificationStatus)

NUMBER, PHONE = "+15550001000", "+14155552671"


async def _community(db, **settings) -> int:
    community_id = await communities.insert_community(db, name="Acme")
    assert await communities.update_community(db, community_id=community_id, settings=settings)
    assert await communities.add_number(db, community_id=community_id, phone=NUMBER)
    return community_id


async def test_a_community_reads_as_a_typed_row(db):
    community_id = await _community(db, mode="live", monthly_limit=500)
    community = await communities.find_community(db, community_id=community_id)
    assert (community.mode, community.unknown_line_type, community.compliance_state) == (
        CommunityMode.LIVE, UnknownLineType.ACCEPT, ComplianceState.OK)
    assert (community.numbers, community.monthly_limit, community.daily_level) == ([NUMBER], 500, 1)
    assert isinstance(community.current_day, date)
    assert await communities.find_community(db, community_id=community_id + 1) is None
    owner = await communities.find_number_owner(db, phone=NUMBER)
    assert (owner.id, owner.sender_name) == (community_id, "Acme")  # no sender name set: the community's name


async def test_a_number_belongs_to_one_community_and_a_refusal_keeps_the_transaction(db):
    first = await _community(db)
    async with db.transaction():
        second = await communities.insert_community(db, name="Other")
        assert not await communities.add_number(db, community_id=second, phone=NUMBER)
        assert await communities.add_number(db, community_id=second, phone="+15550001001")
    usage_rows = await communities.number_usage(db, community_id=second, participant_ids=[])
    assert [(n.phone, n.open, n.busy) for n in usage_rows] == [("+15550001001", 0, False)]
    assert [n.phone for n in await communities.number_usage(db, community_id=first, participant_ids=[])] == [NUMBER]


async def test_the_allow_list(db):
    community_id = await _community(db)
    await communities.allow_number(db, community_id=community_id, phone=PHONE)
    await communities.allow_number(db, community_id=community_id, phone=PHONE)
    assert [n.phone for n in await communities.list_allowed_numbers(db, community_id=community_id)] == [PHONE]
    assert await communities.disallow_number(db, community_id=community_id, phone=PHONE)
    assert not await communities.disallow_number(db, community_id=community_id, phone=PHONE)


async def test_compliance_state_changes_and_a_lift(db):
    community_id = await _community(db)
    change = await communities.set_compliance_state(db, community_id=community_id, state=ComplianceState.RESTRICTED,
                                                    error_rate=0.2, opt_out_rate=0.0, measured_in=ComplianceState.OK)
    assert change.before == ComplianceState.OK
    assert await communities.lift_restriction(db, community_id=community_id)
    # A pass that measured while it was restricted, writing after the lift: nothing changes (its rates are stale).
    assert await communities.set_compliance_state(db, community_id=community_id, state=ComplianceState.RESTRICTED,
                                                  error_rate=0.2, opt_out_rate=0.0,
                                                  measured_in=ComplianceState.RESTRICTED) is None
    assert not await communities.lift_restriction(db, community_id=community_id)
    assert (await communities.find_community(db, community_id=community_id)).compliance_state == ComplianceState.OK


async def test_preference_and_dnd(db):
    community_id = await _community(db)
    change = await contacts.set_preference(db, community_id=community_id, phone=PHONE,
                                           preference=Preference.OPTED_OUT, number=NUMBER, keyword="STOP")
    assert (change.before, change.changed) == (Preference.UNKNOWN, True)
    again = await contacts.set_preference(db, community_id=community_id, phone=PHONE,
                                          preference=Preference.OPTED_OUT, number=NUMBER, keyword="STOP")
    assert (again.before, again.changed) == (Preference.OPTED_OUT, False)
    [contact] = await contacts.list_contacts(db, community_id=community_id, preference=Preference.OPTED_OUT,
                                             after="", limit=10)
    assert (contact.phone, contact.preference, contact.preference_keyword, contact.dnd) == (
        PHONE, Preference.OPTED_OUT, "STOP", None)
    assert await contacts.list_contacts(db, community_id=community_id, preference=Preference.OPTED_IN, after="",
                                        limit=10) == []
    assert await contacts.find_dnd(db, community_id=community_id, phone=PHONE) is None
    assert not await contacts.lift_dnd(db, community_id=community_id, phone=PHONE)


async def test_a_failed_message_puts_its_recipient_on_dnd(db):
    community_id = await _community(db, mode="live")
    message = await messages.insert_outbound_message(
        db, community_id=community_id, conversation_id=None, kind=MessageKind.VERIFICATION, priority=Priority.URGENT,
        from_number=NUMBER, to_number=PHONE, body="hello", segments=1)
    assert (message.status, message.segments) == (MessageStatus.QUEUED, 1)
    await db.execute("UPDATE messages SET status = 'failed', error_code = '30003' WHERE id = $1", message.id)
    assert await contacts.record_dnd(db, message_id=message.id, error_codes=["30003"], failures_needed=2, days=30,
                                     dnd=Dnd.TEMPORARY, reason="30003") is None
    dnd = await contacts.record_dnd(db, message_id=message.id, error_codes=["30003"], failures_needed=1, days=30,
                                    dnd=Dnd.TEMPORARY, reason="30003")
    assert (dnd.community_id, dnd.phone, dnd.dnd) == (community_id, PHONE, Dnd.TEMPORARY)
    assert await contacts.find_dnd(db, community_id=community_id, phone=PHONE) == Dnd.TEMPORARY
    assert await contacts.lift_dnd(db, community_id=community_id, phone=PHONE)


async def test_a_verification_from_send_to_check(db):
    community_id = await _community(db, mode="live")
    async with db.transaction():
        await verifications.lock_sends(db, community_id=community_id, phone=PHONE)
        recent = await verifications.recent_sends(db, community_id=community_id, phone=PHONE)
        assert (recent.phone_sends, recent.community_sends, recent.phone_wait) == (0, 0, None)
        verification_id = await verifications.upsert_pending(db, community_id=community_id, phone=PHONE,
                                                             code_hash=b"hash", ttl_minutes=10)
        message = await messages.insert_outbound_message(
            db, community_id=community_id, conversation_id=None, kind=MessageKind.VERIFICATION,
            priority=Priority.URGENT, from_number=NUMBER, to_number=PHONE, body="****** is your code", segments=1)
        await verifications.record_send(db, community_id=community_id, phone=PHONE, verification_id=verification_id,
                                        message_id=message.id)
    recent = await verifications.recent_sends(db, community_id=community_id, phone=PHONE)
    assert (recent.phone_sends, recent.community_sends) == (1, 1) and 0 < recent.phone_wait <= 3600
    async with db.transaction():
        locked = await verifications.lock_verification(db, verification_id=verification_id)
        assert (locked.status, locked.attempts, locked.code_hash, locked.is_expired) == (
            VerificationStatus.PENDING, 0, b"hash", False)
        await verifications.set_status(db, verification_id=verification_id, status=VerificationStatus.APPROVED,
                                       attempts=0)
    found = await verifications.find_verification(db, verification_id=verification_id)
    assert (found.status, found.message_id, found.message_status) == (
        VerificationStatus.APPROVED, message.id, MessageStatus.QUEUED)
    assert await verifications.find_verification(db, verification_id=verification_id + 1) is None


async def test_webhook_deliveries_are_claimed_once_and_finished(db):
    community_id = await _community(db)
    await events.insert_event(db, community_id=community_id, event=EventType.DND_SET, data={"on": date(2026, 1, 2)})
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 0  # nowhere to send it: not stored
    await db.execute("UPDATE communities SET event_url = 'http://example.invalid/hook' WHERE id = $1", community_id)
    await events.insert_event(db, community_id=community_id, event=EventType.DND_SET, data={"on": date(2026, 1, 2)})
    [delivery] = await events.claim_deliveries(db, limit=5, max_attempts=3, claim_seconds=60, grace_seconds=3600)
    assert (delivery.event, delivery.attempts) == ("dnd.set", 1) and '"2026-01-02"' in delivery.payload
    assert (delivery.secret_version, delivery.sign_previous) == (0, False)  # never rotated
    assert await events.claim_deliveries(db, limit=5, max_attempts=3, claim_seconds=60, grace_seconds=3600) == []
    await events.finish_delivery(db, delivery=delivery, status=DeliveryStatus.PENDING, retry_in=0, error="x")
    assert await events.give_up_deliveries(db, max_attempts=1) == [(delivery.id, "dnd.set")]


async def test_usage_counters_and_held_messages(db):
    community_id = await _community(db, mode="live")
    day = (await communities.find_community(db, community_id=community_id)).current_day
    found = await usage.find_usage(db, community_id=community_id, day=day, month=day.replace(day=1))
    assert found == {unit: usage.Usage(0, 0) for unit in UsageUnit}
    async with db.transaction():
        start = await usage.load_counters(db, community_id=community_id, unit=UsageUnit.MMS, day=day,
                                          month=day.replace(day=1))
    assert (start.day, start.month, start.in_flight) == (0, 0, [])
    message = await messages.insert_outbound_message(
        db, community_id=community_id, conversation_id=None, kind=MessageKind.VERIFICATION, priority=Priority.URGENT,
        from_number=NUMBER, to_number=PHONE, body="hello", segments=2)
    await db.execute("UPDATE messages SET status = 'submitting', attempts = 1 WHERE id = $1", message.id)
    await held.hold_message(db, message_id=message.id, reason=HoldReason.MONTHLY_LIMIT, segments=2)
    [row] = await held.list_held(db, community_id=community_id, reason=HoldReason.MONTHLY_LIMIT, after=0, limit=10)
    assert (row.id, row.status, row.status_reason, row.attempts, row.kind) == (
        message.id, MessageStatus.HELD, HoldReason.MONTHLY_LIMIT, 0, MessageKind.VERIFICATION)
    assert await held.cancel_held(db, community_id=community_id, reason=HoldReason.DAILY_LIMIT, ids=None) == []
    [released] = await held.release_held(db, community_id=community_id, reason=HoldReason.MONTHLY_LIMIT, ids=None,
                                         override=True)
    assert (released.id, released.priority, released.segments) == (message.id, Priority.URGENT, 2)


async def test_the_line_type_cache(db):
    assert await line_types.find_line_type(db, phone=PHONE, max_age_days=30) is None
    await line_types.store_line_type(db, phone=PHONE, line_type="mobile", source="sandbox", carrier_name=None)
    assert await line_types.find_line_type(db, phone=PHONE, max_age_days=30) == "mobile"
    assert "UTC" in await usage.list_time_zones(db)


async def test_messages_held_for_a_carrier_are_released_when_it_is_served(db):
    community_id = await _community(db, mode="live")
    await db.execute("UPDATE community_numbers SET carrier = 'twilio' WHERE phone = $1", NUMBER)
    ids = []
    for from_number in (NUMBER, "+15550009999"):  # a number that names twilio; one no longer a community number
        message = await messages.insert_outbound_message(
            db, community_id=community_id, conversation_id=None, kind=MessageKind.VERIFICATION,
            priority=Priority.URGENT, from_number=from_number, to_number=PHONE, body="hello", segments=1)
        await db.execute("UPDATE messages SET status = 'submitting', attempts = 1 WHERE id = $1", message.id)
        await held.hold_message(db, message_id=message.id, reason=HoldReason.CARRIER_NOT_SERVED, segments=1)
        ids.append(message.id)
    # The number without a row sends through the default carrier (as begin_send.sql does): served, released.
    [default] = await held.release_carrier_held(db, served=["sandbox"], default="sandbox", limit=10)
    assert (default.id, default.from_number) == (ids[1], "+15550009999")
    assert await held.release_carrier_held(db, served=["sandbox"], default="sandbox", limit=10) == []
    [released] = await held.release_carrier_held(db, served=["sandbox", "twilio"], default="sandbox", limit=10)
    assert (released.id, released.priority, released.segments) == (ids[0], Priority.URGENT, 1)
    assert await db.fetchval("SELECT status FROM messages WHERE id = $1", ids[0]) == MessageStatus.QUEUED
