-- Messages a retention walk passed while they still waited to be sent (queued, held, being submitted, or with a
-- platform callback pending): the walk's mark moves on past them (gateway/compliance/retention.py), so without this
-- list a text held for weeks and then sent kept its body, or its row, for good. Each pass looks at these again.
CREATE TABLE retention_waiting (
    rule       text NOT NULL,              -- 'bodies' or 'rows', as retention_marks.name
    message_id bigint NOT NULL,
    PRIMARY KEY (rule, message_id)
);
