"""Prometheus metrics: one registry per app, so several apps (and tests) never share counters."""

from __future__ import annotations

import functools
import platform

from importlib import metadata

from prometheus_client import (GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, CollectorRegistry, Counter, Gauge,
                               Histogram, Info, generate_latest)

from gateway.vocabulary import BlockReason, FailureClass, HoldReason, MessageStatus, SendOutcome

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)  # seconds
LOOKUP_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)  # seconds
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)  # runs per batch


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        counter, gauge, histogram = (functools.partial(kind, registry=registry) for kind in (Counter, Gauge, Histogram))
        # Traffic: webhooks, relays, sends and the queue.
        self.webhooks = counter("gateway_webhooks_total", "Carrier webhooks by kind and outcome.", ["kind", "outcome"])
        self.relayed = counter("gateway_messages_relayed_total", "Inbound messages relayed to the other party.")
        self.sends = counter("gateway_sends_total", "Send attempts to the carrier by result.", ["result"])
        self.segments = counter("gateway_segments_sent_total", "SMS segments the carrier accepted.")
        # WhatsApp is priced per message, not per segment: counted apart (README "WhatsApp").
        self.whatsapp_sent = counter("gateway_whatsapp_messages_sent_total",
                                     "WhatsApp messages the carrier accepted, by kind (text or template).", ["kind"])
        self.whatsapp_windows = counter("gateway_whatsapp_windows_opened_total",
                                        "Inbound WhatsApp messages, each opening or renewing a 24-hour window.")
        self.queue_depth = gauge("gateway_queue_depth", "Messages in the one shared outbound queue.", ["state"])
        self.requeued = counter("gateway_messages_requeued_total", "Messages put back in the queue by the sweeper.")
        self.blocked = counter("gateway_messages_blocked_total", "Outbound messages stored but never sent, by reason.",
                               ["reason"])
        self.held = counter("gateway_messages_held_total", "Outbound messages held back, by reason.", ["reason"])
        self.expired = counter("gateway_conversations_expired_total", "Conversations closed for inactivity.")
        self.route_lookup = histogram("gateway_route_lookup_seconds", "Time to find the route of an inbound message.",
                                      ["source"], buckets=LOOKUP_BUCKETS)
        self.requests = histogram("gateway_request_seconds", "HTTP request latency by route and status.",
                                  ["route", "status"], buckets=LATENCY_BUCKETS)
        # The stores and the background work.
        self.redis_fallbacks = counter("gateway_redis_fallbacks_total",
                                       "Times Redis could not answer and Postgres was used.", ["operation"])
        self.task_failures = counter("gateway_task_failures_total", "Background task iterations that failed.", ["task"])
        self.task_restarts = counter("gateway_task_restarts_total", "Background tasks restarted after a crash.",
                                     ["task"])
        self.rows_skipped = counter("gateway_task_rows_skipped_total", "Rows a periodic task could not handle and left "
                                    "for the next pass, while it went on with the others.", ["task"])
        self.batch_size = histogram("gateway_batch_size", "Runs of a statement sharing one round trip and commit.",
                                    ["statement"], buckets=BATCH_BUCKETS)
        self.batch_splits = counter("gateway_batch_splits_total", "Batches that failed and were run again one by one.",
                                    ["statement"])
        for part in (self._compliance, self._callbacks, self._media, self._templates):
            part(counter)
        self._operations(counter, gauge, histogram)
        self._zeroes()

    def _operations(self, counter, gauge, histogram) -> None:
        """The process, the runtime, the build, and what readiness and the carriers show (issue 16)."""
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        Info("gateway_build", "The running gateway's version and Python.", registry=self.registry).info(
            {"version": _version(), "python": platform.python_version()})
        self.redis_up = gauge("gateway_redis_up", "1 while Redis answered the last look (the queue's depth, every "
                              "5 s, or a readiness check), else 0: the gateway is degraded (routing from Postgres).")
        self.redis_up.set(1)
        self.retention = counter("gateway_retention_rows_total", "Rows the retention passes changed, by rule: "
                                 "bodies_redacted, messages_deleted, conversations_deleted, verifications_deleted, "
                                 "broadcast_recipients_deleted.",
                                 ["rule"])
        self.community_rate = gauge("gateway_community_rate", "Each community's error and opt-out rates (0-1), as the "
                                    "rate monitor last measured them.", ["community", "rate"])
        self.community_state = gauge("gateway_community_compliance_state", "Each community's compliance state as "
                                     "the rate monitor last judged it: 0 ok, 1 warning, 2 restricted.", ["community"])
        self.statuses = counter("gateway_message_statuses_total", "Carriers' status callbacks applied, by the status "
                                "they moved a message to (sent, delivered, undelivered, failed, read...).", ["status"])
        self.failures = counter("gateway_send_failures_total", "Carrier failures (refused sends and failed or "
                                "undelivered statuses), by failure class.", ["failure_class"])
        self.carrier_send = histogram("gateway_carrier_send_seconds", "Time the carrier took to answer a send, by "
                                      "carrier and answer (accepted, retrylater, rejected, error).",
                                      ["carrier", "result"], buckets=LATENCY_BUCKETS)

    def _zeroes(self) -> None:
        """Series that exist at 0 from the start, so rate() and increase() alerts work before the first event."""
        for outcome in SendOutcome:
            self.sends.labels(outcome)
        for block in BlockReason:
            self.blocked.labels(block)
        for hold in HoldReason:
            self.held.labels(hold)
        for failure in FailureClass:
            self.failures.labels(failure)
        for status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.FAILED):
            self.statuses.labels(status)

    def _compliance(self, counter) -> None:
        """Compliance and verification."""
        self.line_type_lookups = counter("gateway_line_type_lookups_total",
                                         "Line-type answers by where they came from, errors and timeouts.", ["result"])
        self.verifications = counter("gateway_verifications_total", "Verification events.", ["event"])
        self.preference_changes = counter("gateway_preference_changes_total",
                                          "SMS preference changes by keyword (opted_out counts opt-outs).",
                                          ["preference"])
        self.dnd = counter("gateway_dnd_total", "Phones put on do-not-disturb, by kind.", ["dnd"])
        self.compliance = counter("gateway_compliance_alerts_total", "Communities warned or restricted.", ["state"])
        self._platform(counter)

    def _platform(self, counter) -> None:
        """What the platform's side counts (issue 12)."""
        # Events to communities (gateway/platform/events.py). Stored by SQL with the change, so "enqueued" is
        # counted when a process first takes one for posting.
        self.events = counter("gateway_events_total", "Event deliveries by type and outcome: enqueued (first taken "
                              "for posting), delivered, deferred (a try failed; retried), failed (given up), gone (the "
                              "receiver answered 410: failed at once).",
                              ["type", "outcome"])

    def _callbacks(self, counter) -> None:
        """The platform's callbacks: intercept and out of session (gateway/platform/callbacks.py)."""
        self.callbacks = counter("gateway_platform_callbacks_total",
                                 "Intercept and out-of-session callbacks finished, by kind and outcome.",
                                 ["kind", "outcome"])
        self.callback_tries = counter("gateway_platform_callback_tries_total",
                                      "POSTs to intercept and out-of-session URLs, by kind and answer (2xx, 4xx, "
                                      "5xx, timeout or an error's name).", ["kind", "result"])

    def _media(self, counter) -> None:
        """Pictures (issue 14): priced apart from SMS, so counted apart from segments."""
        self.mms = counter("gateway_mms_sent_total", "MMS the carrier accepted (pictures attached; their text is "
                           "not counted in gateway_segments_sent_total).")
        self.media_links = counter("gateway_media_links_sent_total", "SMS sent with a link to their pictures instead "
                                   "of an MMS (recipient outside +1, or a carrier without MMS).")
        self.media = counter("gateway_media_total", "Inbound attachments by outcome: stored, refused (type or size), "
                             "failed (given up), retried (a fetch to try again), carrier_deleted, expired (retention).",
                             ["outcome"])

    def _templates(self, counter) -> None:
        """Template sends (issue 15): the outcome log's counters. Labels are bounded: never a template or community."""
        self.template_sends = counter("gateway_template_sends_total", "Template sends as stored, by kind (triggered or "
                                      "broadcast), category and outcome: queued, blocked (opted out, DND, test mode), "
                                      "skipped (a broadcast recipient) or refused (a triggered send).",
                                      ["kind", "category", "outcome"])
        self.broadcast_skips = counter("gateway_broadcast_recipients_skipped_total",
                                       "Broadcast recipients given no message, by reason.", ["reason"])
        self.broadcast_pages = counter("gateway_broadcast_pages_total", "Pages of broadcast recipients processed.")

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _version() -> str:
    try:
        return metadata.version("sms-relay-gateway")
    except metadata.PackageNotFoundError:  # a checkout that was never installed
        return "unknown"
