"""Pictures (MMS), issue 14: rules (pure), signed URLs, the background fetch, the send side and the signed routes."""
