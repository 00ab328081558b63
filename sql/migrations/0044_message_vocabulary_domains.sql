-- The vocabulary columns of messages as domains, their checks unchanged (tests/test_vocabulary.py reads both forms).
-- Why: Postgres keeps a table's CHECK constraints as stored expression trees and reads them back, then prepares
-- them, at every statement that writes the table, and every UPDATE checks them all, whatever it changes. messages
-- is written four or five times per relayed message (its two rows stored, the send begun and recorded, each status
-- callback); in perf that reading was a tenth of Postgres's CPU (issue 10, the seventh before/after round). A
-- domain's check is read once per session (Postgres's type cache), and checked only where a value of the domain is
-- written. The table is not rewritten nor scanned: the types change while the domains have no check (the same
-- bytes), and each check is added NOT VALID, as every existing row passed the table's check it replaces, in this
-- transaction. The two indexes whose WHERE reads direction (messages_recent_outbound, messages_last_relayed) are
-- built again: on a large table, minutes under the table's lock.
CREATE DOMAIN message_direction AS text;
CREATE DOMAIN message_kind AS text;
CREATE DOMAIN message_priority AS text;
CREATE DOMAIN message_category AS text;
CREATE DOMAIN message_usage_unit AS text;

ALTER TABLE messages
    DROP CONSTRAINT messages_direction_check,
    DROP CONSTRAINT messages_kind_check,
    DROP CONSTRAINT messages_priority_check,
    DROP CONSTRAINT messages_category_check,
    DROP CONSTRAINT messages_usage_unit_check,
    ALTER COLUMN direction TYPE message_direction,
    ALTER COLUMN kind TYPE message_kind,
    ALTER COLUMN priority TYPE message_priority,
    ALTER COLUMN category TYPE message_category,
    ALTER COLUMN usage_unit TYPE message_usage_unit;

ALTER DOMAIN message_direction ADD CONSTRAINT message_direction_check
    CHECK (VALUE IN ('inbound', 'outbound')) NOT VALID;
ALTER DOMAIN message_kind ADD CONSTRAINT message_kind_check
    CHECK (VALUE IN ('inbound', 'relay', 'notification', 'auto_reply', 'help', 'verification', 'keyword_reply',
                     'whatsapp_template', 'triggered', 'broadcast', 'template_test')) NOT VALID;
ALTER DOMAIN message_priority ADD CONSTRAINT message_priority_check
    CHECK (VALUE IN ('urgent', 'relay', 'bulk')) NOT VALID;
ALTER DOMAIN message_category ADD CONSTRAINT message_category_check
    CHECK (VALUE IN ('transactional', 'marketing')) NOT VALID;
ALTER DOMAIN message_usage_unit ADD CONSTRAINT message_usage_unit_check
    CHECK (VALUE IN ('sms_segment', 'mms', 'whatsapp')) NOT VALID;
