"""A phone is never both one of our numbers and a participant, even when adding it to one community and starting a
conversation with it in another run at the same time. Postgres widens the window: a test trigger makes the first
of the two sleep inside its transaction, after its check and before its commit (dropped after the test)."""

import asyncio
from contextlib import asynccontextmanager

from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM, wait_for


@asynccontextmanager
async def slow_inserts(db, table: str):
    """Every insert into table sleeps half a second inside its transaction."""
    await db.execute("CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$")
    await db.execute(f"CREATE TRIGGER test_slow_insert BEFORE INSERT ON {table} "
                     "FOR EACH ROW EXECUTE FUNCTION test_slow_insert()")
    try:
        yield
    finally:
        await db.execute(f"DROP TRIGGER test_slow_insert ON {table}")
        await db.execute("DROP FUNCTION test_slow_insert()")


async def race(db, table: str, first, second):
    """(first's answer, second's): first runs until it sleeps in its insert into table, past its check, then second
    runs to its end; first then finishes."""
    async with slow_inserts(db, table):
        running = asyncio.ensure_future(first)

        async def in_its_insert_or_done():
            return running.done() or await db.fetchval(
                "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event = 'PgSleep'")
        # Polled, not a fixed pause: on a loaded machine first may take longer to reach its insert (or, polled too
        # late, be done: second then meets its committed rows, refused all the same).
        await wait_for(in_its_insert_or_done, what="the first in its insert")
        later = await second
        return await running, later


async def _start(gateway, community_id: int):
    return await gateway.call("POST", "/v1/conversations", {
        "community_id": community_id, "prospect": {"phone": PAT, "name": "Pat"},
        "advocate": {"phone": ALEX, "name": "Alex"}, "message": "Hello"})


async def _two(gateway):
    """Two communities, one number each: what one adds as a number, the other makes a participant."""
    return (await gateway.community(numbers=(PROXY,), require_verification=False),
            await gateway.community(numbers=(PROXY_2,), require_verification=False))


def _add(gateway, community, phone: str):
    return gateway.call("POST", f"/v1/communities/{community['id']}/numbers", {"phone": phone})


def _refused(answer, status: int, code: str) -> bool:
    return answer[0] == status and answer[1]["error"]["code"] == code


async def test_a_number_added_while_a_start_makes_it_a_participant_elsewhere(gateway, db):
    first, second = await _two(gateway)
    added, started = await race(db, "community_numbers", _add(gateway, first, PAT), _start(gateway, second["id"]))
    assert added[0] == 201, added
    assert _refused(started, 422, "participant_is_proxy"), started
    assert await db.fetchval("SELECT count(*) FROM conversations") == 0


async def test_a_start_while_its_participant_is_added_as_a_number_elsewhere(gateway, db):
    first, second = await _two(gateway)
    started, added = await race(db, "conversations", _start(gateway, second["id"]), _add(gateway, first, PAT))
    assert started[0] == 201, started
    assert _refused(added, 409, "number_in_use"), added
    assert await db.fetchval("SELECT count(*) FROM community_numbers WHERE phone = $1", PAT) == 0


async def test_a_group_start_while_a_participant_is_added_as_a_number_elsewhere(gateway, db):
    first, second = await _two(gateway)
    people = [{"phone": phone, "name": name} for phone, name in ((PAT, "Pat"), (ALEX, "Alex"), (SAM, "Sam"))]
    group = gateway.call("POST", "/v1/groups", {"community_id": second["id"], "participants": people,
                                                "message": "Hello all"})
    started, added = await race(db, "conversations", group, _add(gateway, first, SAM))
    assert started[0] == 201, started
    assert _refused(added, 409, "number_in_use"), added


async def test_community_locks_do_not_wait_for_rows_that_reference_the_community(gateway, db):
    """A send records the recipient as a contact of the community while it holds the message's row; the
    contact's foreign key takes a key-share lock on the community. A number removal (or a start) that locked the
    community FOR UPDATE then waited for that message: a deadlock, answered 500. The community's locks must not
    conflict with a reference to it. Here the test's own transaction holds such a reference open."""
    community = await gateway.community(numbers=(PROXY, PROXY_2), require_verification=False)
    async with db.transaction():
        await db.execute("INSERT INTO contacts (community_id, phone) VALUES ($1, $2)", community["id"], SAM)
        removed = await asyncio.wait_for(
            gateway.call("DELETE", f"/v1/communities/{community['id']}/numbers/%2B14155550101"), 3)
        started = await asyncio.wait_for(_start(gateway, community["id"]), 3)
    assert removed[0] == 200, removed
    assert started[0] == 201, started


# A team member's phone or a dedicated number's member is a participant-to-be: the same lock holds it.

def _team(gateway, community_id: int, phone: str):
    return gateway.call("POST", f"/v1/communities/{community_id}/teams",
                        {"name": "Desk", "members": [{"phone": phone, "name": "Pat"}]})


async def test_a_number_added_while_a_team_is_made_with_it_elsewhere(gateway, db):
    first, second = await _two(gateway)
    added, made = await race(db, "community_numbers", _add(gateway, first, PAT), _team(gateway, second["id"], PAT))
    assert added[0] == 201, added
    assert _refused(made, 422, "participant_is_proxy"), made
    assert await db.fetchval("SELECT count(*) FROM team_members") == 0


async def test_a_team_made_while_its_member_is_added_as_a_number_elsewhere(gateway, db):
    first, second = await _two(gateway)
    made, added = await race(db, "team_members", _team(gateway, second["id"], PAT), _add(gateway, first, PAT))
    assert made[0] == 201, made
    assert _refused(added, 409, "number_in_use"), added
    assert await db.fetchval("SELECT count(*) FROM community_numbers WHERE phone = $1", PAT) == 0


async def test_a_member_added_to_a_team_while_their_phone_is_added_as_a_number(gateway, db):
    first, second = await _two(gateway)
    status, team = await _team(gateway, second["id"], SAM)
    assert status == 201, team
    joining = gateway.call("POST", f"/v1/communities/{second['id']}/teams/{team['id']}/members",
                           {"phone": PAT, "name": "Pat"})
    added, joined = await race(db, "community_numbers", _add(gateway, first, PAT), joining)
    assert added[0] == 201, added
    assert _refused(joined, 422, "participant_is_proxy"), joined


async def test_a_number_dedicated_to_a_phone_being_added_as_a_number(gateway, db):
    first, second = await _two(gateway)
    dedicating = gateway.call("PATCH", f"/v1/communities/{second['id']}/numbers/%2B{PROXY_2[1:]}",
                              {"member": {"phone": PAT, "name": "Pat"}})
    added, assigned = await race(db, "community_numbers", _add(gateway, first, PAT), dedicating)
    assert added[0] == 201, added
    assert _refused(assigned, 422, "participant_is_proxy"), assigned
    assert await db.fetchval("SELECT count(*) FROM community_numbers WHERE member_phone = $1", PAT) == 0
