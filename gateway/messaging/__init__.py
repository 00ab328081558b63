"""Messages in and out: inbound handling, the outbound queue, sending, statuses, conversations."""
