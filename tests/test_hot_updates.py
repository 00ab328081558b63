"""Status updates are heap-only (HOT): no index of messages reads a column that sending or a status callback
changes, so Postgres rewrites the row in place and touches none of the table's indexes (migration 0037)."""

from __future__ import annotations

from gateway.storage import conversations
from gateway.storage import messages as storage
from gateway.storage.db import QUERIES
from gateway.storage.messages import BeginSend
from gateway.vocabulary import MessageStatus
from tests.helpers import ALEX, PAT, PROXY, outbound_notification

# What begin_send, record_send_accepted (but carrier_sid, once) and every status callback write.
CHANGED_BY_SENDING = {"status", "updated_at", "error_code", "attempts", "body", "accepted_at", "segments",
                      "usage_unit", "status_reason"}
# status_reason changes only where a message waits (held, blocked, failed): indexes may read it there.
ALLOWED_IN_INDEXES = {"status_reason"}


async def _indexed_columns(db) -> dict[str, set[str]]:
    """index name -> the columns of messages its key, expressions or WHERE read (BRIN indexes left out: Postgres
    keeps updates heap-only past those)."""
    rows = await db.fetch("""
        SELECT i.indexrelid::regclass::text AS name, a.attname
        FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_am am ON am.oid = x.relam
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum > 0
        WHERE i.indrelid = 'messages'::regclass AND am.amname <> 'brin'
          AND (a.attnum = ANY (i.indkey)
               OR pg_get_expr(i.indpred, i.indrelid) ~ ('\\m' || a.attname || '\\M')
               OR pg_get_expr(i.indexprs, i.indrelid) ~ ('\\m' || a.attname || '\\M'))""")
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["name"], set()).add(row["attname"])
    return found


async def test_no_index_reads_a_column_that_sending_changes(db):
    indexed = await _indexed_columns(db)
    assert "messages_held" in indexed  # the query reads predicates and keys
    clashes = {name: columns & (CHANGED_BY_SENDING - ALLOWED_IN_INDEXES) for name, columns in indexed.items()}
    assert {name: columns for name, columns in clashes.items() if columns} == {}


async def test_beginning_a_send_and_the_callbacks_after_it_update_the_message_in_place(db):
    """Of a message's four updates on its way out, only the one recording the carrier's sid touches the indexes."""
    community_id, stored = await outbound_notification(db)
    counts = "SELECT pg_stat_get_xact_tuples_updated('messages'::regclass), " \
             "pg_stat_get_xact_tuples_hot_updated('messages'::regclass)"
    async with db.transaction():
        # Counts not yet flushed to the statistics (the insert's transaction) are in these too: read the difference.
        before = tuple(await db.fetchrow(counts))
        begun = await db.fetchrow(QUERIES.begin_send, *BeginSend(stored.id, [200], 5000, ["sandbox"], "sandbox",
                                                                     10.0))
        assert begun["status"] == MessageStatus.SUBMITTING
        await db.execute("UPDATE messages SET status = 'accepted', carrier_sid = 'SM1' WHERE id = $1", stored.id)
        for status in ("sent", "delivered"):
            applied = await storage.apply_message_status(db, message_id=None, sid="SM1", status=status,
                                                         error_code=None)
            assert applied.status == MessageStatus(status)
        after = tuple(await db.fetchrow(counts))
    assert (after[0] - before[0], after[1] - before[1]) == (4, 3)  # four updates, all but the sid's heap-only


async def test_a_communitys_contacts_have_one_index_that_fits_a_lookup_by_phone(db):
    """Every text looks up its recipient's contact by (community_id, phone). With a second index leading with
    community_id (contacts_preference), the planner, taking a new database's contacts for empty, read every contact
    of the community through it: 3 ms a text at 5,000 contacts (migration 0041; README, sixth before/after round)."""
    leading = await db.fetch("""
        SELECT x.relname AS name FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
        WHERE i.indrelid = 'contacts'::regclass
          AND i.indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = 'contacts'::regclass
                                                                AND attname = 'community_id')""")
    assert [row["name"] for row in leading] == ["contacts_pkey"]


async def test_a_relayed_text_updates_its_conversation_in_place(db):
    """Each text sets its conversation's last_activity_at. Expiry's index reads only the UTC day derived from it
    (migration 0043), so a text on the same day rewrites the row in place; before, each text added an entry to all
    twelve indexes of conversations."""
    community_id, _ = await outbound_notification(db)
    await db.execute("INSERT INTO community_numbers (phone, community_id) VALUES ($1, $2)", PROXY, community_id)
    pat, alex = [await conversations.upsert_participant(db, community_id=community_id, phone=phone, name=name)
                 for phone, name in ((PAT, "Pat"), (ALEX, "Alex"))]
    conversation_id = await conversations.insert_conversation(db, community_id=community_id, proxy=PROXY,
                                                              prospect_id=pat, advocate_id=alex, code="")
    counts = "SELECT pg_stat_get_xact_tuples_updated('conversations'::regclass), " \
             "pg_stat_get_xact_tuples_hot_updated('conversations'::regclass)"
    async with db.transaction():
        # Earlier the same UTC day (this transaction's midnight), so the text below changes the time, not the day.
        await db.execute("UPDATE conversations SET last_activity_at = date_trunc('day', now() AT TIME ZONE 'UTC')"
                         " AT TIME ZONE 'UTC' WHERE id = $1", conversation_id)
        before = tuple(await db.fetchrow(counts))
        stored = await storage.store_relayed_in(db, storage.StoreRelayed(
            conversation_id, PAT, PROXY, "hi", [], "SM1", [ALEX], ["hi"], 1, [1]))
        after = tuple(await db.fetchrow(counts))
    assert stored.conversation_open and len(stored.relayed) == 1
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
    assert await db.fetchval("SELECT last_activity_at > date_trunc('day', now()) FROM conversations") is True
