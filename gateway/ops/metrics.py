"""Prometheus metrics: one registry per app, so several apps (and tests) never share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.webhooks = Counter(
            "gateway_webhooks_total", "Carrier webhooks by kind and outcome.", ["kind", "outcome"], registry=registry
        )
        self.relayed = Counter("gateway_messages_relayed_total", "Inbound messages relayed to the other party.",
                               registry=registry)
        self.sends = Counter("gateway_sends_total", "Send attempts to the carrier by result.", ["result"],
                             registry=registry)
        self.queue_depth = Gauge("gateway_queue_depth", "Messages waiting in the outbound queue.", ["state"],
                                 registry=registry)
        self.route_lookup = Histogram(
            "gateway_route_lookup_seconds", "Time to find the route of an inbound message.", ["source"],
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
            registry=registry,
        )
        self.redis_fallbacks = Counter(
            "gateway_redis_fallbacks_total", "Times Redis could not answer and Postgres was used.", ["operation"],
            registry=registry,
        )
        self.task_failures = Counter(
            "gateway_task_failures_total", "Background task iterations that failed.", ["task"], registry=registry
        )
        self.task_restarts = Counter(
            "gateway_task_restarts_total", "Background tasks restarted after a crash.", ["task"], registry=registry
        )
        self.rows_skipped = Counter(
            "gateway_task_rows_skipped_total", "Rows a periodic task could not handle and left for the next pass, "
            "while it went on with the others.", ["task"], registry=registry
        )
        self.requests = Histogram(
            "gateway_request_seconds", "HTTP request latency by route and status.", ["route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )
        self.expired = Counter("gateway_conversations_expired_total", "Conversations closed for inactivity.",
                               registry=registry)
        self.blocked = Counter("gateway_messages_blocked_total", "Outbound messages stored but never sent, by reason.",
                               ["reason"], registry=registry)
        self.line_type_lookups = Counter(
            "gateway_line_type_lookups_total", "Line-type answers by where they came from, errors and timeouts.",
            ["result"], registry=registry,
        )
        self.verifications = Counter("gateway_verifications_total", "Verification events.", ["event"],
                                     registry=registry)
        self.preference_changes = Counter("gateway_preference_changes_total",
                                          "SMS preference changes by keyword (opted_out counts opt-outs).",
                                          ["preference"], registry=registry)
        self.held = Counter("gateway_messages_held_total", "Outbound messages held back, by reason.", ["reason"],
                            registry=registry)
        self.segments = Counter("gateway_segments_sent_total", "Segments the carrier accepted.", registry=registry)
        self.dnd = Counter("gateway_dnd_total", "Phones put on do-not-disturb, by kind.", ["dnd"], registry=registry)
        self.compliance = Counter("gateway_compliance_alerts_total", "Communities warned or restricted.", ["state"],
                                  registry=registry)
        self.batch_size = Histogram(
            "gateway_batch_size", "Runs of a statement sharing one round trip and commit.", ["statement"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=registry,
        )
        self.batch_splits = Counter("gateway_batch_splits_total",
                                    "Batches that failed and were run again one by one.", ["statement"],
                                    registry=registry)
        self.requeued = Counter("gateway_messages_requeued_total", "Messages put back in the queue by the sweeper.",
                                registry=registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
