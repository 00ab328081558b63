-- Claim a queued message for sending, asking the gates again (the phone may have texted STOP, or the
-- community been restricted, since it was queued): blocked and held messages stop here. The first message
-- that goes to a phone which never wrote to the community gets the sender identification, here, once, if
-- the wrapped text stays within the carrier's limit (1,600 UTF-16 units; the API and the relay leave room for
-- it, so only a template made longer after the text was queued can skip it: the next text that fits carries it).
-- A notification of ours that already names the sender (a group's intro "Acme group text with ...", a member's
-- "Acme: you were added ...", after any code; a new conversation's "Pat via Acme: ...") is not given the name twice:
-- the template's "{sender name}: " before "{message}" is left out, and its opt-out words are added as ever (a
-- template written otherwise is used as it is). Only the start of a notification is read (its first words are
-- ours: the name, "Someone left", or "<person> via <community>: "), never what someone wrote after it.
-- "submitting" again means an earlier try's lease ran out without an answer: the message is sent again
-- (the one window for a duplicate; see README), but only once that try is older than $6 seconds (the carrier's
-- send timeout, shorter than the lease): a second queue entry for a message being sent (a late enqueue after the
-- sweeper queued it) is dropped here, not sent twice. Nothing for any other status.
-- $1 message, $2 the configured daily levels, $3 the configured ceiling, $4 the carriers this gateway serves, $5
-- its default carrier: a message whose number's carrier is not served is held (carrier_not_served) here, before
-- the identification, which a text that never left must not use up. Returns what the send needs, as one
-- row every time (all nulls when there is nothing to send), so that runs can be batched; "carrier" is the
-- sending number's carrier (null: the gateway's default carrier); media_from the text whose pictures it carries.
-- The row is found by id alone and checked after: with "direction = 'outbound'" in the WHERE, a planner
-- that saw a small table may prefer a partial index on outbound messages, and a prepared plan keeps that
-- full-index scan as the table grows.
-- WhatsApp (whatsapp_contacts, migration 0025): a recipient on WhatsApp with this number gets no sender
-- identification (the business profile and templates carry it), and is held whatsapp_opt_in when they never wrote
-- nor opted in, else, for anything but the template, whatsapp_window while their 24-hour window is closed. A template
-- that waited (at a limit, say) until they wrote, or until the platform switched them back to SMS, is canceled
-- (whatsapp_template_unneeded): asking them to write would only follow the texts it was for, and cost a message.
-- An answer to the phone's own text (a keyword reply such as STOP's confirmation, an auto-reply, a help) goes on
-- WhatsApp only inside the window: a text sent on WhatsApp opened it; outside it the text came by SMS, and its
-- answer goes by SMS (else it waited for a window, which STOP keeps shut, and the template asked them to write).
-- A verification code always goes by SMS: it verifies the phone (held for a window, it expired unread).
-- Quiet hours are decided after this, by the gateway's clock (gateway/messaging/sending.py): for a marketing or bulk
-- text it returns the community's window, its category, and plain_body, the body before the sender identification
-- was added just now (null when none was), which a text held for quiet hours gives back (hold_quiet_message.sql).
-- $1's category picks the preference that may block it (outbound_block with a category, migrations 0032 and 0042).
WITH target AS MATERIALIZED (
    SELECT id, community_id, from_number, to_number, kind, direction, status, body, category, updated_at
    FROM messages WHERE id = $1
    FOR UPDATE
), wa AS (
    -- The recipient's WhatsApp contact, locked FOR SHARE until this commits: a message of theirs opening the window
    -- meanwhile (open_whatsapp_window.sql) waits for this decision, then releases a text held here; one that opened
    -- it first is waited for and read as it is now (none for an SMS recipient: nothing locked).
    SELECT w.phone, w.opted_in_at, w.last_inbound_at, w.window_closed_at
    FROM whatsapp_contacts w JOIN target t ON w.proxy_number = t.from_number AND w.phone = t.to_number
    WHERE w.channel = 'whatsapp'
      AND t.kind <> 'verification' AND (t.kind NOT IN ('keyword_reply', 'auto_reply', 'help')
           OR whatsapp_window_open(w.last_inbound_at, w.window_closed_at))
    FOR SHARE OF w
), gate AS (
    SELECT t.id, t.community_id, t.to_number, t.kind,
           replace(replace(CASE WHEN t.kind <> 'notification' THEN c.sender_id_template
                                WHEN left(regexp_replace(t.body, '^#[A-Z][0-9]{1,3} ', ''), length(s.name) + 1)
                                         IN (s.name || ' ', s.name || ':')
                                  OR right(split_part(t.body, ': ', 1), length(s.name) + 5) = ' via ' || s.name
                                THEN replace(c.sender_id_template, '{sender name}: {message}', '{message}')
                                ELSE c.sender_id_template END,
                           '{sender name}', s.name), '{message}', t.body) AS identified_body,
           (SELECT b.reason FROM outbound_block(t.community_id, t.to_number, t.kind, t.category) b) AS blocked,
           t.kind <> 'keyword_reply' AND coalesce(c.compliance_state = 'restricted', false) AS restricted,
           coalesce(n.carrier, $5::text) <> ALL($4::text[]) AS not_served,
           w.phone IS NOT NULL AS whatsapp,
           t.kind = 'whatsapp_template'
             AND (w.phone IS NULL OR whatsapp_window_open(w.last_inbound_at, w.window_closed_at)) AS unneeded,
           CASE WHEN w.phone IS NULL THEN NULL
                WHEN w.opted_in_at IS NULL AND w.last_inbound_at IS NULL THEN 'whatsapp_opt_in'
                WHEN t.kind <> 'whatsapp_template' AND NOT whatsapp_window_open(w.last_inbound_at, w.window_closed_at)
                THEN 'whatsapp_window' END AS outside
    FROM target t LEFT JOIN communities c ON c.id = t.community_id
    LEFT JOIN community_numbers n ON n.phone = t.from_number
    LEFT JOIN wa w ON true,
    LATERAL (SELECT coalesce(c.sender_name, c.name) AS name) s
    WHERE t.direction = 'outbound'
      AND (t.status = 'queued' OR t.status = 'submitting' AND t.updated_at < now() - make_interval(secs => $6::float8))
), identify AS (
    INSERT INTO contacts (community_id, phone, identified_at)
    SELECT community_id, to_number, now() FROM gate
    WHERE community_id IS NOT NULL AND kind <> 'keyword_reply' AND blocked IS NULL AND NOT restricted
      AND NOT not_served AND NOT whatsapp AND NOT unneeded AND utf16_length(identified_body) <= 1600
      -- (a contact who wrote to us is left untouched: ON CONFLICT would lock its row. Not so one identified: a text
      -- held for quiet hours gives its identification back, hold_quiet_message.sql, which this snapshot may miss.)
      AND (SELECT k.first_inbound_at FROM contacts k
           WHERE k.community_id = gate.community_id AND k.phone = gate.to_number) IS NULL
    ON CONFLICT (community_id, phone) DO UPDATE SET identified_at = now()
    WHERE contacts.identified_at IS NULL AND contacts.first_inbound_at IS NULL
    RETURNING true AS first
), updated AS (
    UPDATE messages m
    SET status = CASE WHEN g.unneeded THEN 'canceled' WHEN g.blocked IS NOT NULL THEN 'blocked'
                      WHEN g.restricted OR g.not_served OR g.outside IS NOT NULL THEN 'held' ELSE 'submitting' END,
        status_reason = CASE WHEN g.unneeded THEN 'whatsapp_template_unneeded'
                             WHEN g.blocked IS NOT NULL THEN g.blocked WHEN g.restricted THEN 'restricted'
                             WHEN g.not_served THEN 'carrier_not_served' ELSE g.outside END,
        attempts = m.attempts + CASE WHEN NOT g.unneeded AND g.blocked IS NULL AND NOT g.restricted
                                          AND NOT g.not_served AND g.outside IS NULL THEN 1 ELSE 0 END,
        body = CASE WHEN EXISTS (SELECT 1 FROM identify) THEN g.identified_body ELSE m.body END,
        updated_at = now()
    FROM gate g
    WHERE m.id = g.id
    RETURNING m.id, m.community_id, m.conversation_id, m.kind, m.from_number, m.to_number, m.body, m.attempts,
              m.segments, m.limit_override, m.status, m.status_reason, EXISTS (SELECT 1 FROM identify) AS identified,
              m.media_from, g.whatsapp, m.category,
              CASE WHEN EXISTS (SELECT 1 FROM identify) THEN old.body END AS plain_body
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, status FROM updated WHERE status <> 'submitting'
), hooks AS (
    -- message.blocked or message.held, only where the community has somewhere to send it.
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT u.community_id, t.url, t.target, e.type, event_body(e.type, jsonb_build_object(
               'community_id', u.community_id, 'conversation_id', u.conversation_id, 'message_id', u.id,
               'kind', u.kind, 'to', u.to_number, 'status', u.status, 'reason', u.status_reason))
    FROM updated u, LATERAL (SELECT 'message.' || u.status) e (type), event_targets(u.community_id, e.type) t
    WHERE u.status IN ('blocked', 'held') AND u.community_id IS NOT NULL
)
SELECT u.*, c.timezone, c.current_day, c.daily_level, coalesce(c.daily_limit_levels, $2::int[]) AS levels,
       coalesce(c.daily_limit_ceiling, $3::int) AS ceiling, c.monthly_limit, n.carrier, c.mms_daily_limit,
       c.mms_monthly_limit, c.whatsapp_daily_limit, c.whatsapp_monthly_limit, c.quiet_hours, c.quiet_hours_start,
       c.quiet_hours_end
FROM (VALUES (1)) one
LEFT JOIN updated u ON true
LEFT JOIN communities c ON c.id = u.community_id
LEFT JOIN community_numbers n ON n.phone = u.from_number
