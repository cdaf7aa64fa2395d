"""Prometheus text exposition (format 0.0.4) without the client library."""

from __future__ import annotations

import bisect
import threading

# Tick-to-trade in seconds: 1 us .. 10 ms, then +Inf.
LATENCY_BUCKETS = (
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
)  # fmt: skip


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = tuple(sorted(buckets))
        self.counts = [0] * (len(self.bounds) + 1)  # last one: above every bound
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str) -> list[str]:
        out = []
        cumulative = 0
        for bound, n in zip(self.bounds, self.counts, strict=False):
            cumulative += n
            out.append(f'{name}_bucket{{le="{_fmt(bound)}"}} {cumulative}')
        out.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        out.append(f"{name}_sum {_fmt(self.sum)}")
        out.append(f"{name}_count {self.count}")
        return out


def _fmt(value: float) -> str:
    value = float(value)
    return f"{int(value)}.0" if value.is_integer() else repr(value)


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    """The engine's counters; one lock, held briefly by the feed threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tick_to_trade = Histogram()
        self.processed = 0
        self.rejected = 0
        self.decisions = {"order": 0, "risk_reject": 0}
        # POST /orders: acknowledged (committed) orders, and failures by reason.
        self.orders_accepted = 0
        self.orders_failed: dict[str, int] = {}

    def order_failed(self, reason: str) -> None:
        with self.lock:
            self.orders_failed[reason] = self.orders_failed.get(reason, 0) + 1

    def order_accepted(self) -> None:
        with self.lock:
            self.orders_accepted += 1

    def render(self, info: dict[str, str], gauges: dict[str, tuple[str, float]]) -> str:
        labels = ",".join(f'{k}="{escape_label(str(v))}"' for k, v in sorted(info.items()))
        with self.lock:
            hist = self.tick_to_trade.lines("tick_to_trade_seconds")
            processed, rejected = self.processed, self.rejected
            decisions = dict(self.decisions)
            accepted, failed = self.orders_accepted, dict(self.orders_failed)
        lines = [
            "# HELP up Whether the engine process is serving (always 1 when scraped).",
            "# TYPE up gauge",
            "up 1",
            "# HELP engine_info Build information of the running engine.",
            "# TYPE engine_info gauge",
            f"engine_info{{{labels}}} 1",
            "# HELP tick_to_trade_seconds Latency from market-data receive to decision.",
            "# TYPE tick_to_trade_seconds histogram",
            *hist,
            "# HELP messages_processed_total Market-data messages applied to the book.",
            "# TYPE messages_processed_total counter",
            f"messages_processed_total {processed}",
            "# HELP messages_rejected_total Market-data messages that could not be applied.",
            "# TYPE messages_rejected_total counter",
            f"messages_rejected_total {rejected}",
            "# HELP decisions_total Decisions taken per tick, by result.",
            "# TYPE decisions_total counter",
            *(f'decisions_total{{result="{k}"}} {v}' for k, v in sorted(decisions.items())),
            "# HELP orders_accepted_total Orders committed to the database and acknowledged (201).",
            "# TYPE orders_accepted_total counter",
            f"orders_accepted_total {accepted}",
            "# HELP orders_failed_total Orders not acknowledged, by reason.",
            "# TYPE orders_failed_total counter",
            *(
                f'orders_failed_total{{reason="{escape_label(k)}"}} {v}'
                for k, v in sorted(failed.items())
            ),
        ]
        for name, (help_text, value) in sorted(gauges.items()):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {_fmt(value)}"]
        return "\n".join(lines) + "\n"
