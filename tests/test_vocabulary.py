"""The vocabulary's enums against the migrated database: every CHECK constraint and status function agrees."""

import re
from pathlib import Path

import pytest

from gateway import vocabulary as v
from tests.helpers import sql_functions

# (table, column) -> the enum whose values the column's CHECK constraint must list, exactly.
CHECKED = {
    ("communities", "mode"): v.CommunityMode,
    ("communities", "unknown_line_type"): v.UnknownLineType,
    ("communities", "compliance_state"): v.ComplianceState,
    ("conversations", "status"): v.ConversationStatus,
    ("conversations", "shape"): v.ConversationShape,
    ("conversations", "team_style"): v.TeamStyle,
    ("teams", "style"): v.TeamStyle,
    ("conversation_participants", "role"): v.ParticipantRole,
    ("conversation_participants", "left_reason"): v.LeftReason,
    ("messages", "direction"): v.Direction,
    ("messages", "kind"): v.MessageKind,
    ("messages", "priority"): v.Priority,
    ("contacts", "preference"): v.Preference,
    ("contacts", "dnd"): v.Dnd,
    ("verifications", "status"): v.VerificationStatus,
    ("usage_counters", "period"): v.UsagePeriod,
    ("usage_counters", "unit"): v.UsageUnit,
    ("messages", "usage_unit"): v.UsageUnit,
    ("webhook_deliveries", "status"): v.DeliveryStatus,
    ("webhook_deliveries", "target"): v.EventTarget,
    ("auto_replies", "kind"): v.AutoReplyKind,
    ("communities", "intercept_policy"): v.InterceptPolicy,
    ("platform_callbacks", "kind"): v.CallbackKind,
    ("platform_callbacks", "outcome"): v.CallbackOutcome,
    ("message_media", "state"): v.MediaState,
    ("message_media", "refusal"): v.MediaRefusal,
    ("message_media", "channel"): v.Channel,
    ("whatsapp_contacts", "channel"): v.Channel,
    ("contacts", "marketing_preference"): v.Preference,
    ("community_numbers", "category"): v.TemplateCategory,
    ("templates", "category"): v.TemplateCategory,
    ("preference_events", "category"): v.TemplateCategory,
    ("templates", "state"): v.TemplateState,
    ("messages", "category"): v.TemplateCategory,
    ("broadcasts", "category"): v.TemplateCategory,
    ("broadcasts", "state"): v.BroadcastState,
    ("broadcast_recipients", "outcome"): v.RecipientOutcome,
    ("broadcast_recipients", "skip_reason"): v.SkipReason,
}


async def _checks(db) -> dict[tuple[str, str], set[str]]:
    """(table, column) -> the names its check lists: a table's CHECK on the column, or its domain's (migration
    0044: each column of that domain)."""
    rows = await db.fetch("""
        SELECT k.conrelid::regclass::text AS tbl, NULL AS col, pg_get_constraintdef(k.oid) AS def
        FROM pg_constraint k WHERE k.contype = 'c' AND k.conrelid <> 0
        UNION ALL
        SELECT a.attrelid::regclass::text, a.attname, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_attribute a ON a.atttypid = k.contypid AND a.attnum > 0 AND NOT a.attisdropped
        JOIN pg_class r ON r.oid = a.attrelid AND r.relkind = 'r'
        WHERE k.contype = 'c' AND k.contypid <> 0""")
    found = {}
    for row in rows:
        match = re.match(r"CHECK \(\(\(?(\w+)\)? = ANY \(ARRAY\[(.*)\]\)\)\)", row["def"])
        if match:
            found[(row["tbl"], row["col"] or match.group(1))] = set(re.findall(r"'([^']*)'::text", match.group(2)))
    return found


@pytest.mark.parametrize("table, column", list(CHECKED))
async def test_every_listed_column_allows_exactly_its_enum(db, table, column):
    assert (await _checks(db)).get((table, column)) == {member.value for member in CHECKED[table, column]}


async def test_every_checked_list_of_names_has_an_enum(db):
    assert set(await _checks(db)) <= set(CHECKED)


@pytest.mark.parametrize("status", list(v.MessageStatus))
async def test_status_rank_and_finality_agree_with_postgres(db, status):
    assert await db.fetchval("SELECT message_status_rank($1)", status) == status.rank
    assert await db.fetchval("SELECT message_status_is_final($1)", status) is status.is_final


async def test_an_unknown_status_has_no_rank(db):
    assert await db.fetchval("SELECT message_status_rank('nonsense')") == -1


async def test_every_block_reason_postgres_gives_is_a_block_reason(db):
    source = await db.fetchval(
        "SELECT pg_get_functiondef('outbound_block(bigint, text, text, text)'::regprocedure)")
    # intercepted is set by the intercept worker (gateway/platform/intercepts.py), never by the function.
    assert set(re.findall(r"THEN '(\w+)'", source)) == {reason.value for reason in v.BlockReason} - {"intercepted"}


async def test_the_block_reason_is_planned_into_the_statement_that_asks(db):
    # A scalar SQL function reading tables runs as a plan of its own on every call (0.36 ms of a relayed message's
    # 1.05 ms, migration 0042); inlined, it is one more index probe of the caller's plan.
    plan = await db.fetchval(
        "EXPLAIN (FORMAT JSON, VERBOSE) SELECT (SELECT b.reason FROM outbound_block(1, '+15550001111', 'relay', NULL) b)")
    assert "outbound_block" not in plan and '"Relation Name": "contacts"' in plan


async def test_the_usage_shard_range_is_the_shard_count(db):
    definitions = await db.fetch(
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'usage_counters'::regclass")
    ranges = [re.search(r"shard >= (\d+)\) AND \(shard <= (\d+)", row["def"]) for row in definitions]
    assert [match.groups() for match in ranges if match] == [("0", str(v.USAGE_SHARDS - 1))]


def test_every_domain_error_has_one_http_status():
    from gateway import errors
    from gateway.ops.middleware import HTTP_STATUS

    domain = {cls for cls in vars(errors).values()
              if isinstance(cls, type) and issubclass(cls, errors.GatewayError) and cls is not errors.GatewayError}
    assert set(HTTP_STATUS) == domain


def _canceled_reasons(texts: list[str]) -> set[str]:
    """Every status_reason literal written in SQL that cancels messages (on the line that sets it)."""
    found = set()
    for text in texts:
        if "'canceled'" not in text:
            continue
        for line in text.splitlines():
            if "status_reason" in line and not line.lstrip().startswith("--"):
                found |= {a or b for a, b in re.findall(r"THEN '(\w+)'|status_reason = '(\w+)'", line)}
    return found - {status.value for status in v.MessageStatus} - {reason.value for reason in v.HoldReason}


async def test_every_cancel_reason_the_sql_writes_is_in_the_vocabulary(db):
    """CancelReason names each reason a query cancels with, itself or in a function it calls (end_conversations's
    conversation_closed); number_removed and erased come as parameters."""
    queries = [path.read_text() for path in (Path(__file__).resolve().parent.parent / "sql" / "queries").glob("*.sql")]
    functions = list((await sql_functions(db)).values())
    assert _canceled_reasons(queries + functions) == {reason.value for reason in v.CancelReason} - {
        v.CancelReason.NUMBER_REMOVED, v.CancelReason.ERASED}
    assert v.CancelReason.NUMBER_REMOVED == v.NumberRemoval.NUMBER_REMOVED
    assert v.CancelReason.ERASED == v.Erased.ERASED
