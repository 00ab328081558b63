-- One attachment's bytes, to serve at its signed URL ($1 its id): null content once deleted or never stored.
SELECT id, state, content_type, sha256, content FROM message_media WHERE id = $1
