-- Serialises conversation creation per community, across processes, for the number choice.
SELECT id, name, require_verification FROM communities WHERE id = $1 FOR UPDATE
