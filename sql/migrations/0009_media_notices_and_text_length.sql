-- The once-a-day replies by kind: the auto-reply to an unrouted sender, and the notice that pictures cannot be
-- relayed yet ('media'), each at most once per sender, number and UTC day, independently of each other.
ALTER TABLE auto_replies ADD COLUMN kind text NOT NULL DEFAULT 'auto_reply' CHECK (kind IN ('auto_reply', 'media'));
ALTER TABLE auto_replies DROP CONSTRAINT auto_replies_pkey;
ALTER TABLE auto_replies ADD PRIMARY KEY (proxy_number, sender, day, kind);

-- A text's length as the carrier's 1,600-character limit is counted here (gateway/segments.py length()):
-- UTF-16 code units, so a character outside the Basic Multilingual Plane (most emoji) counts two.
CREATE FUNCTION utf16_length(body text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT length(body) + length(regexp_replace(body, '[^\U00010000-\U0010FFFF]', '', 'g')) $$;
