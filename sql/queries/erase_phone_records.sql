-- A phone ($2) is erased from community $1: what the gateway keeps about it goes. Its participant rows keep their
-- place in conversations under the pseudonym $3 with the name "erased"; its contact goes, unless it opted out or
-- is on permanent do-not-disturb: then only the phone and that refusal stay, so it is never texted again (an
-- opt-out must outlive the erasure: GDPR Art. 17(3)(b), TCPA); every other record is deleted. Returns the counts.
WITH participant AS (
    UPDATE participants SET phone = $3, name = 'erased' WHERE community_id = $1 AND phone = $2 RETURNING 1
), kept_contact AS (
    UPDATE contacts SET name = NULL, fields = '{}', tags = '{}', preference_keyword = NULL, preference_source = NULL,
                        first_inbound_at = NULL, identified_at = NULL, dnd_reason = NULL, updated_at = now()
    WHERE community_id = $1 AND phone = $2 AND (preference = 'opted_out' OR marketing_preference = 'opted_out'
                                                 OR dnd = 'permanent')
    RETURNING 1
), contact AS (
    DELETE FROM contacts WHERE community_id = $1 AND phone = $2 AND preference <> 'opted_out'
        AND marketing_preference <> 'opted_out' AND dnd IS DISTINCT FROM 'permanent'
    RETURNING 1
), sends AS (
    DELETE FROM verification_sends WHERE community_id = $1 AND phone = $2 RETURNING 1
), verification AS (
    DELETE FROM verifications WHERE community_id = $1 AND phone = $2 RETURNING 1
), verified AS (
    DELETE FROM verified_phones WHERE community_id = $1 AND phone = $2 RETURNING 1
), allowed AS (
    DELETE FROM allow_list WHERE community_id = $1 AND phone = $2 RETURNING 1
), preference AS (
    DELETE FROM preference_events WHERE community_id = $1 AND phone = $2 RETURNING 1
), whatsapp AS (
    DELETE FROM whatsapp_contacts w USING community_numbers n
    WHERE n.community_id = $1 AND w.proxy_number = n.phone AND w.phone = $2 RETURNING 1
), member AS (
    DELETE FROM team_members tm USING teams t WHERE t.community_id = $1 AND tm.team_id = t.id AND tm.phone = $2
    RETURNING 1
), dedicated AS (
    UPDATE community_numbers SET member_phone = NULL, member_name = NULL
    WHERE community_id = $1 AND member_phone = $2 RETURNING 1
), recipients AS (
    -- a broadcast's recipient keeps its place (the broadcast's counts stay) under the pseudonym
    UPDATE broadcast_recipients r SET phone = $3 FROM broadcasts b
    WHERE b.id = r.broadcast_id AND b.community_id = $1 AND r.phone = $2 RETURNING 1
), replies AS (
    DELETE FROM auto_replies a USING community_numbers n
    WHERE n.community_id = $1 AND a.proxy_number = n.phone AND a.sender = $2 RETURNING 1
)
SELECT (SELECT count(*) FROM participant) AS participants, (SELECT count(*) FROM contact) AS contacts_deleted,
       (SELECT count(*) FROM kept_contact) AS contacts_kept_for_opt_out, (SELECT count(*) FROM verification) AS verifications,
       (SELECT count(*) FROM sends) AS verification_sends, (SELECT count(*) FROM verified) AS verified_phones,
       (SELECT count(*) FROM allowed) AS allow_list, (SELECT count(*) FROM preference) AS preference_events,
       (SELECT count(*) FROM whatsapp) AS whatsapp_contacts, (SELECT count(*) FROM member) AS team_memberships,
       (SELECT count(*) FROM dedicated) AS dedicated_numbers, (SELECT count(*) FROM replies) AS auto_replies,
       (SELECT count(*) FROM recipients) AS broadcast_recipients
