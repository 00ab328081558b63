-- The other copies of a text written into a conversation of several ($2, ids) carry the pictures its first copy
-- ($1) carries (attach_uploaded_media.sql made them that copy's): each recipient gets them with their copy.
UPDATE messages SET media_from = $1 WHERE id = ANY($2::bigint[])
