-- One statement, so all or nothing: the inbound message, its relayed copies (queued) and the activity time.
-- $1 conversation, $2 sender, $3 proxy number, $4 body, $5 media urls, $6 carrier sid, $7 each part's recipient
-- (text[], beside $8: a pair's parts all go to the other party; a conversation of several has each recipient's
-- parts one after the other, gateway/relay/fanout.py; a part to the sender $2 is our answer instead, kind help:
-- a member's text to a conversation another member took), $8 the relayed parts in order (text[]; none when there is
-- nothing to relay, such as a picture alone),
-- $9 the inbound body's segments, $10 each part's segments (int[]), $11 the channel the text came on (its
-- attachments are checked against that channel's limits).
-- conversation_id is null when the conversation is no longer open (or the sender left it, even while this statement
-- ran); inbound_id is null for a
-- carrier retry. outbound_recipients says whom each stored part goes to (a part to one who left is not stored).
-- The parts get ascending ids in their order, so the queue sends them in order. A relayed copy is "blocked"
-- (with the reason) when outbound_block says it must not be sent to its recipient (asked once per
-- recipient). The intercept gets one callback for the text, naming every copy it holds. When the community has an intercept
-- URL, the others are "held" (reason intercepting) and a callback offers the text to that URL (intercept_id);
-- the answer releases, rewrites or blocks them (gateway/platform/intercepts.py).
-- A text with media ($5 not empty): each attachment is a message_media row to fetch, and the copies are held
-- (awaiting_media, media_from naming the text) until they are fetched: then released, to the intercept first if
-- the community has one (release_media_held_messages.sql).
-- Events (message.received, then message.relayed, message.blocked or message.held (intercepting) for each part) are stored only where the
-- community has somewhere to send them (event_targets gives no row otherwise).
WITH touched AS (
    -- In a conversation of several, the sender must still be in it: a route from before they left (Redis behind
    -- after a lost write) is then stale, as one to a closed conversation is. A pair does not look (OR stops).
    UPDATE conversations c SET last_activity_at = now()
    WHERE c.id = $1 AND c.status = 'open'
      AND (c.shape = 'pair' OR EXISTS (
          SELECT 1 FROM conversation_participants cp JOIN participants p ON p.id = cp.participant_id
          WHERE cp.conversation_id = c.id AND cp.left_at IS NULL AND p.phone = $2))
    RETURNING c.id, c.community_id, c.shape
), present AS (
    -- Who is still in a conversation of several, their rows locked: a removal that committed while this statement
    -- waited for the conversation's row (lock_conversation) is after this statement's snapshot, but the lock reads
    -- each row's latest version and drops the ones that left (without it, the copy reached the removed member).
    SELECT p.phone
    FROM touched c JOIN conversation_participants cp ON cp.conversation_id = c.id AND cp.left_at IS NULL
         JOIN participants p ON p.id = cp.participant_id
    WHERE c.shape <> 'pair'
    FOR SHARE OF cp
), conversation AS (
    -- The sender too, by the same locked read: one removed while this statement waited (the snapshot above still
    -- had them) sends nothing; conversation_id comes back null, so the text is routed again, as from one who left.
    SELECT * FROM touched WHERE shape = 'pair' OR $2 IN (SELECT phone FROM present)
), interceptor AS (
    SELECT c.intercept_url FROM conversation JOIN communities c ON c.id = conversation.community_id
    WHERE c.intercept_url IS NOT NULL
), inbound AS (
    INSERT INTO messages (community_id, conversation_id, direction, kind, from_number, to_number, body,
                          media_urls, carrier_sid, status, segments)
    SELECT community_id, id, 'inbound', 'inbound', $2, $3, $4, $5, $6, 'received', $9 FROM conversation
    ON CONFLICT (carrier_sid) DO NOTHING
    RETURNING id, community_id, conversation_id
), block AS MATERIALIZED (
    -- Each recipient once. In a conversation of several, a recipient who left meanwhile gets no copy (their parts
    -- are dropped here): the route that named them was written before they left. (MATERIALIZED: inlined, the
    -- reason's lookup was copied into each CASE below that reads it, and ran once for each.)
    SELECT recipient.phone,
           (SELECT b.reason FROM outbound_block(inbound.community_id, recipient.phone, 'relay', NULL::text) b) AS reason
    FROM inbound, conversation, (SELECT DISTINCT unnest($7::text[]) AS phone) recipient
    WHERE conversation.shape = 'pair' OR recipient.phone = $2 OR recipient.phone IN (SELECT phone FROM present)
), outbound AS (
    INSERT INTO messages (community_id, conversation_id, direction, kind, priority, from_number, to_number,
                          body, status, status_reason, segments, media_from)
    SELECT community_id, conversation_id, 'outbound', CASE WHEN part.recipient = $2 THEN 'help' ELSE 'relay' END,
           'relay', $3, part.recipient, part.body,
           CASE WHEN block.reason IS NOT NULL THEN 'blocked'
                WHEN (cardinality($5) > 0 OR EXISTS (SELECT 1 FROM interceptor)) AND part.recipient <> $2 THEN 'held'
                ELSE 'queued' END,
           coalesce(block.reason, CASE WHEN part.recipient = $2 THEN NULL WHEN cardinality($5) > 0 THEN 'awaiting_media'
                                       WHEN EXISTS (SELECT 1 FROM interceptor) THEN 'intercepting' END),
           part.segments, CASE WHEN cardinality($5) > 0 AND part.recipient <> $2 THEN inbound.id END
    FROM inbound, unnest($7::text[], $8::text[], $10::int[]) WITH ORDINALITY AS part (recipient, body, segments, n)
    JOIN block ON block.phone = part.recipient
    ORDER BY part.n
    RETURNING id, kind, status, status_reason, body, to_number, segments
), intercept AS (
    INSERT INTO platform_callbacks (kind, message_id, community_id, conversation_id, part_ids, url)
    SELECT 'intercept', inbound.id, inbound.community_id, inbound.conversation_id, held.ids, interceptor.intercept_url
    FROM inbound, interceptor,
         (SELECT array_agg(id ORDER BY id) AS ids FROM outbound WHERE status_reason = 'intercepting') held
    WHERE held.ids IS NOT NULL
    RETURNING id
), media AS (
    -- Each attachment, to fetch in the background (gateway/media/fetching.py); none for a plain text.
    INSERT INTO message_media (message_id, position, source_url, channel)
    SELECT inbound.id, m.n, m.url, $11 FROM inbound, unnest($5::text[]) WITH ORDINALITY AS m (url, n)
), event AS (
    INSERT INTO message_events (message_id, status)
    SELECT id, status FROM outbound
), contact AS (
    -- The sender has messaged the community: it needs no sender identification from us. Once that is stored, the
    -- sender's later texts do not touch the row (ON CONFLICT DO UPDATE would lock it even when its WHERE is false: a
    -- write-ahead log record and a dirtied page per text). An erasure of the phone committing meanwhile, after this
    -- snapshot, leaves it erased: the phone is identified again on its next text from us, as a new contact is.
    INSERT INTO contacts (community_id, phone, first_inbound_at)
    SELECT community_id, $2, now() FROM inbound
    -- (A scalar subquery, not NOT EXISTS: that anti-join was planned as a scan of every contact while the table
    -- looked empty, and the message path keeps its first plan.)
    WHERE (SELECT k.first_inbound_at FROM contacts k WHERE k.community_id = inbound.community_id AND k.phone = $2)
          IS NULL
    ON CONFLICT (community_id, phone) DO UPDATE SET first_inbound_at = now()
    WHERE contacts.first_inbound_at IS NULL
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT i.community_id, t.url, t.target, 'message.received', event_body('message.received', jsonb_build_object(
               'community_id', i.community_id, 'conversation_id', i.conversation_id, 'message_id', i.id,
               'from', $2::text, 'to', $3::text, 'body', $4::text, 'media_urls', to_jsonb($5::text[]),
               'segments', $9::int))
    FROM inbound i, event_targets(i.community_id, 'message.received') t
    UNION ALL
    SELECT i.community_id, t.url, t.target, e.type, event_body(e.type, jsonb_build_object(
               'community_id', i.community_id, 'conversation_id', i.conversation_id, 'message_id', o.id,
               'inbound_message_id', i.id, 'from', $3::text, 'to', o.to_number, 'body', o.body, 'status', o.status,
               'reason', o.status_reason))
    FROM inbound i, (SELECT * FROM outbound WHERE kind = 'relay') o,
         LATERAL (SELECT CASE o.status WHEN 'blocked' THEN 'message.blocked' WHEN 'held' THEN 'message.held'
                          ELSE 'message.relayed' END) e (type),
         event_targets(i.community_id, e.type) t
)
SELECT (SELECT id FROM conversation) AS conversation_id,
       (SELECT id FROM inbound) AS inbound_id,
       (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM outbound) AS outbound_ids,
       (SELECT coalesce(array_agg(status ORDER BY id), '{}') FROM outbound) AS outbound_statuses,
       (SELECT coalesce(array_agg(status_reason ORDER BY id), '{}') FROM outbound) AS outbound_reasons,
       (SELECT coalesce(array_agg(segments ORDER BY id), '{}') FROM outbound) AS outbound_segments,
       (SELECT coalesce(array_agg(to_number ORDER BY id), '{}') FROM outbound) AS outbound_recipients,
       (SELECT id FROM intercept) AS intercept_id
