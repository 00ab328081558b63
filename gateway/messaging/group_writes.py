"""Writing into a group text or a one-to-group conversation from the API, as one of its participants: the text is
fanned out exactly as an SMS from that participant would be (README "Group texts", "One-to-group conversations").

The same rules as the relay's (gateway/messaging/inbound.py relayed_copies, gateway/relay/fanout.py): every other
participant gets a copy with its label ("Pat: ..." in a group; "Alex to Pat: ..." to the other members of a team,
the text as is to the customer), the code first for one with several conversations on the number, each copy its own
message through the per-recipient checks (opt-out, DND, test mode when stored; sender identification, limits and
segments when sent). In claim style a member who writes into a conversation nobody has taken takes it, as their SMS
would; one another member took answers 409 conversation_taken (their SMS would get "Your text was not sent: Alex
took this conversation." back). What differs from an SMS: nothing inbound is stored (the platform wrote it), and the
intercept is not asked (the platform is the one writing, as for a pair's write).
"""

from __future__ import annotations

from typing import Sequence

import structlog

from gateway.errors import Conflict, InvalidInput
from gateway.messaging import inbound
from gateway.messaging.conversations import Conversations, attach_media, check_fits, get, identification
from gateway.relay import fanout
from gateway.relay import rules as relay
from gateway.relay import segments
from gateway.relay.phones import mask, to_e164
from gateway.storage import conversations as conversation_storage
from gateway.storage import groups as group_storage
from gateway.storage import media as media_storage
from gateway.storage import messages
from gateway.storage.conversations import Conversation
from gateway.storage.messages import StoredOutbound
from gateway.vocabulary import ConversationShape, ConversationStatus, MessageKind, ParticipantRole, Priority

log = structlog.get_logger(__name__)

PAIR_ROLES = ("prospect", "advocate")
CUSTOMER = "customer"


def author(conversation: Conversation, written: str, region: str) -> str:
    """Who `from` names: "prospect" or "advocate" in a pair (a pair's participant's phone reads as their role), the
    customer's phone for "customer" in a one-to-group conversation, or else the phone of an active participant.
    Raises Conflict (conversation_not_a_pair: a role of a pair in another shape; not_a_participant), InvalidInput
    (invalid_field: neither a role nor a phone)."""
    pair = conversation.shape == ConversationShape.PAIR
    if written in PAIR_ROLES:
        if not pair:
            raise Conflict("conversation_not_a_pair", f"conversation {conversation.id} is a {conversation.shape}: it "
                           "has no prospect and advocate to write as (write as a participant's phone)")
        return written
    active = conversation.active()
    if written == CUSTOMER:
        phone = next((p.phone for p in active if p.role == ParticipantRole.CUSTOMER), None)
    else:
        phone = _phone(written, region)
    if pair and phone in (conversation.prospect_phone, conversation.advocate_phone):
        return "prospect" if phone == conversation.prospect_phone else "advocate"
    if pair or phone not in {p.phone for p in active}:
        raise Conflict("not_a_participant", f"{written if written == CUSTOMER else mask(phone)} is not an active "
                       f"participant of conversation {conversation.id}")
    return phone


def _phone(written: str, region: str) -> str:
    try:
        return to_e164(written, field="from", region=region)
    except InvalidInput:
        # As before phones were taken here: a `from` that is no role is invalid_field, as it always was for pairs.
        raise InvalidInput("invalid_field", "from: \"prospect\", \"advocate\", \"customer\" or a participant's "
                           "phone number") from None


async def write_as(services: Conversations, conversation: Conversation, sender: str, body: str,
                   media: Sequence[int] = ()) -> list[StoredOutbound]:
    """The text written as sender (an active participant's phone) into an open conversation of several, with the
    community's uploads named in media: every copy stored and queued (or blocked), in order, each carrying the
    pictures (on its recipient's first part, as a relayed MMS's copies). Raises Conflict (conversation_not_open,
    not_a_participant, conversation_taken), InvalidInput (message_too_long; invalid_field: an upload not the
    community's to use, as for a pair)."""
    if conversation.status != ConversationStatus.OPEN:
        raise Conflict("conversation_not_open", f"conversation {conversation.id} is {conversation.status}")
    entry = inbound.entry_for(conversation, sender)
    _not_taken(entry)
    proxy = conversation.proxy_number
    # The longest label any copy can carry, and the longest code: as the opening endpoints refuse, never split.
    check_fits(body, relay.relay_room(code=entry.code, sender_name=entry.sender_name, label=fanout.longest_label(entry),
                                      identification=await identification(services.db, proxy)), "body")
    copies = await inbound.relayed_copies(services, proxy, entry, body, sender)
    if any(phone == sender for phone, _ in copies):
        # Another member took it between our read and the claim: as for their SMS, nothing goes to anyone.
        raise Conflict("conversation_taken", f"another member has conversation {conversation.id}")
    stored = await _store(services, conversation, sender, copies, media)
    queued = [await services.dispatcher.dispatch(part, Priority.RELAY, proxy, relays=(part_to, conversation.id))
              for part_to, part in stored]
    if any(queued):
        services.metrics.relayed.inc()
    log.info("message_relayed", conversation_id=conversation.id, relayed_message_id=stored[0][1].id,
             parts=len(stored), to=f"{len({phone for phone, _ in stored})} recipients", source="api")
    return [part for _, part in stored]


def _not_taken(entry: relay.RouteEntry) -> None:
    if fanout.taken(entry):
        raise Conflict("conversation_taken", f"{fanout.claimer_name(entry)} has conversation {entry.conversation_id}: "
                       "a text from another member is not sent")


async def _store(services: Conversations, conversation: Conversation, sender: str,
                 copies: list[tuple[str, list[str]]], media: Sequence[int]) -> list[tuple[str, StoredOutbound]]:
    """Every part, with its message.relayed or message.blocked event, in one transaction under the conversation's
    lock, as members change (gateway/messaging/groups.py): a removal is wholly before (the removed get no copy; a
    removed sender's text is refused) or wholly after (their copy is canceled with participant_left)."""
    async with services.db.acquire() as conn, conn.transaction():
        await group_storage.lock_conversation(conn, conversation_id=conversation.id)
        now = await get(conn, conversation.id)
        active = {p.phone for p in now.active()}
        if now.status != ConversationStatus.OPEN or sender not in active:
            raise Conflict("conversation_not_open" if now.status != ConversationStatus.OPEN else "not_a_participant",
                           f"conversation {conversation.id} changed meanwhile: nothing was sent")
        await conversation_storage.touch_conversation(conn, conversation_id=conversation.id)
        stored = []
        for phone, parts in copies:
            for part in parts if phone in active else ():
                message = await messages.insert_outbound_message(
                    conn, community_id=conversation.community_id, conversation_id=conversation.id,
                    kind=MessageKind.RELAY, priority=Priority.RELAY, from_number=conversation.proxy_number,
                    to_number=phone, body=part, segments=segments.count(part))
                await inbound.relayed_event(conn, conversation, None, conversation.proxy_number, phone, part, message,
                                            {})
                stored.append((phone, message))
        if not stored:  # every recipient left meanwhile (it would have closed): nothing is kept, the touch neither
            raise Conflict("conversation_not_open", f"nobody else is left in conversation {conversation.id}")
        if media:  # the first copy holds the uploads, the others carry them too
            await attach_media(services, conn, stored[0][1].id, conversation.community_id, media)
            await media_storage.share_media(conn, carrier_id=stored[0][1].id,
                                            message_ids=[part.id for _, part in stored[1:]])
    return stored
