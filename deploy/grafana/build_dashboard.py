"""Writes deploy/grafana/sms-gateway.json, the gateway's Grafana dashboard: `python deploy/grafana/build_dashboard.py`.

Kept as code so each panel's query is one readable line; tests/test_deploy.py checks that the JSON is what this
script writes and that every gateway_* series it queries exists in a running gateway's /metrics.
"""

import json
from pathlib import Path

RATE = "[$__rate_interval]"
PANELS = [  # (title, unit, [(query, legend)], description)
    ("Relayed messages", "ops", [(f"sum(rate(gateway_messages_relayed_total{RATE}))", "relayed/s")],
     "Inbound texts relayed to the other party, per second, over all processes."),
    ("Carrier webhooks", "ops", [(f"sum by (kind, outcome) (rate(gateway_webhooks_total{RATE}))", "{{kind}} {{outcome}}")],
     "Inbound messages and status callbacks by outcome."),
    ("Sends by result", "ops", [(f"sum by (result) (rate(gateway_sends_total{RATE}))", "{{result}}")],
     "Each try of the drainer: accepted, retry, failed, repeat_stopped, crashed."),
    ("Delivery statuses", "ops", [(f"sum by (status) (rate(gateway_message_statuses_total{RATE}))", "{{status}}")],
     "Status callbacks applied, by the status they moved a message to."),
    ("Errors by class", "ops", [(f"sum by (failure_class) (rate(gateway_send_failures_total{RATE}))",
                                 "{{failure_class}}")],
     "Carrier failures mapped onto the failure classes (README \"Carriers\")."),
    ("Blocked and held", "ops", [(f"sum by (reason) (rate(gateway_messages_blocked_total{RATE}))", "blocked {{reason}}"),
                                 (f"sum by (reason) (rate(gateway_messages_held_total{RATE}))", "held {{reason}}")],
     "Messages never sent (opt-out, DND, test mode) and held (daily and monthly limits, restriction...)."),
    ("Outbound queue", "short", [("sum by (state) (gateway_queue_depth)", "{{state}}")],
     "Messages ready to send and in flight."),
    ("Segments, MMS and WhatsApp sent", "ops", [(f"sum(rate(gateway_segments_sent_total{RATE}))", "SMS segments"),
                                                (f"sum(rate(gateway_mms_sent_total{RATE}))", "MMS"),
                                                (f"sum(rate(gateway_whatsapp_messages_sent_total{RATE}))", "WhatsApp")],
     "What the limits count, each priced apart."),
    ("Opt-out rate per community", "percentunit", [("max by (community) (gateway_community_rate{rate=\"opt_out\"})",
                                                    "community {{community}}")],
     "As the rate monitor last measured it; warning and restriction thresholds in compliance.*."),
    ("Error rate per community", "percentunit", [("max by (community) (gateway_community_rate{rate=\"error\"})",
                                                  "community {{community}}")],
     "Carrier errors over sends, as the rate monitor last measured it."),
    ("Opt-outs and DND", "ops", [(f"sum by (preference) (rate(gateway_preference_changes_total{RATE}))", "{{preference}}"),
                                 (f"sum by (dnd) (rate(gateway_dnd_total{RATE}))", "DND {{dnd}}")],
     "Preference changes by keyword and phones put on do-not-disturb."),
    ("Webhook latency", "s", [(f"histogram_quantile(0.99, sum by (le) (rate(gateway_request_seconds_bucket"
                               f"{{route=~\"/webhooks/.*\"}}{RATE})))", "p99"),
                              (f"histogram_quantile(0.5, sum by (le) (rate(gateway_request_seconds_bucket"
                               f"{{route=~\"/webhooks/.*\"}}{RATE})))", "p50")],
     "Time to answer carriers' webhooks."),
    ("Carrier send latency", "s", [(f"histogram_quantile(0.99, sum by (le, carrier) (rate("
                                    f"gateway_carrier_send_seconds_bucket{RATE})))", "p99 {{carrier}}")],
     "Time each carrier takes to answer a send."),
    ("Redis", "short", [("min(gateway_redis_up)", "up (min over processes)"),
                        (f"sum by (operation) (rate(gateway_redis_fallbacks_total{RATE}))", "fallback {{operation}}")],
     "0: a process runs degraded, routing from Postgres."),
    ("Background task failures", "short", [(f"sum by (task) (increase(gateway_task_failures_total{RATE}))", "{{task}}")],
     "Each loop logs, counts and survives its failures."),
    ("Process CPU and memory", "short", [(f"sum by (instance) (rate(process_cpu_seconds_total{RATE}))", "CPU {{instance}}"),
                                         ("sum by (instance) (process_resident_memory_bytes) / 2^20",
                                          "MiB {{instance}}")],
     "Per gateway process."),
]


def panel(number: int, title: str, unit: str, queries: list[tuple[str, str]], description: str) -> dict:
    return {
        "id": number, "type": "timeseries", "title": title, "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * (number % 2), "y": 8 * (number // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(65 + i), "expr": expr, "legendFormat": legend}
                    for i, (expr, legend) in enumerate(queries)],
    }


def dashboard() -> dict:
    return {
        "uid": "sms-gateway", "title": "SMS relay gateway", "schemaVersion": 39, "version": 1,
        "tags": ["sms", "gateway"], "timezone": "browser", "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "label": "Prometheus"}]},
        "panels": [panel(i, *spec) for i, spec in enumerate(PANELS)],
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


if __name__ == "__main__":
    Path(__file__).with_name("sms-gateway.json").write_text(render())
