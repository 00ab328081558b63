-- Messages held because their number's carrier is not served here (hold reason carrier_not_served), found by
-- every sweep of every gateway (release_carrier_held_messages.sql) without reading the other held messages,
-- which a busy review queue may hold by the thousand. Usually empty.
CREATE INDEX messages_carrier_not_served ON messages (id) WHERE status = 'held' AND status_reason = 'carrier_not_served';
