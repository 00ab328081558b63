"""The full cycle (bench/run.py --full-cycle): each message's inbound webhook, its relay's send, and the carrier's
"sent" and "delivered" status callbacks for it, as Twilio makes them; both parties of each conversation text.
What is measured of it, as rows of the benchmark's table."""

from __future__ import annotations

import asyncio
import time

from bench.wire import FakeCarrier


async def all_completed(carrier: FakeCarrier, messages: int, within: float = 180) -> None:
    """Until the gateway answered every message's "delivered" callback, or within seconds passed."""
    deadline = time.perf_counter() + within
    while len(carrier.completed) < messages and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)


def rows(carrier: FakeCarrier, sent_at: dict[str, float], cpu: dict[str, float], pct) -> list[tuple[str, str]]:
    """Full cycles per second, CPU per full cycle by part and in all, and the status callbacks' latency."""
    done = len(carrier.completed)
    first, last = min(sent_at.values()), max(carrier.completed.values(), default=float("nan"))
    callbacks = carrier.callback_latencies
    whole = sum(used for part, used in cpu.items() if part != "stolen by the host")
    on_box = whole - cpu.get("harness (load + fake carrier)", 0.0)
    cycle = [carrier.completed[k] - sent_at[k] for k in carrier.completed if k in sent_at]
    return [
        ("full cycles completed", f"{done} (webhook, send, sent and delivered callbacks)"),
        ("sustained full cycles/s", f"{done / (last - first):.0f}"),
        ("CPU per full cycle", ", ".join(f"{part} {used / max(done, 1) * 1e6:.0f} µs" for part, used in cpu.items())),
        ("CPU per full cycle, all but the harness", f"{on_box / max(done, 1) * 1e3:.2f} ms (with it: "
                                                    f"{whole / max(done, 1) * 1e3:.2f} ms)"),
        ("status callback latency p50 / p99", f"{pct(callbacks, .5) * 1e3:.1f} ms / {pct(callbacks, .99) * 1e3:.1f} ms"
                                              f" ({len(callbacks)} callbacks)"),
        ("full cycle p50 / p99 (webhook in to delivered answered)", f"{pct(cycle, .5) * 1e3:.1f} ms / "
                                                                     f"{pct(cycle, .99) * 1e3:.1f} ms"),
    ]
