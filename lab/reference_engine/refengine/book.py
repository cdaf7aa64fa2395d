"""Top-of-book per symbol, and the per-tick decision that tick-to-trade measures."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass


class BadMessage(ValueError):
    """A market-data message that cannot be applied."""


@dataclass
class Quote:
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    seq: int | None


def _number(msg: dict, key: str, default: float | None = None) -> float:
    value = msg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadMessage(f"{key!r} must be a number")
    if not math.isfinite(value) or value < 0:
        raise BadMessage(f"{key!r} must be finite and not negative")
    return float(value)


def parse_messages(payload: bytes) -> list[dict]:
    """One JSON object per line; a datagram or Kinesis record may carry several lines."""
    messages = []
    for line in payload.splitlines():
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadMessage(f"not JSON: {exc}") from None
        if not isinstance(msg, dict):
            raise BadMessage("a message must be a JSON object")
        messages.append(msg)
    if not messages:
        raise BadMessage("empty message")
    return messages


class Book:
    """Best bid/ask per symbol. Not thread-safe: the engine holds its lock around it."""

    def __init__(self) -> None:
        self.quotes: dict[str, Quote] = {}

    def apply(self, msg: dict) -> tuple[str, Quote]:
        """Apply a quote update ``{"symbol", "bid", "ask", "bid_size"?, "ask_size"?, "seq"?}``."""
        symbol = msg.get("symbol")
        if not isinstance(symbol, str) or not symbol or len(symbol) > 32:
            raise BadMessage("'symbol' must be a non-empty string (at most 32 characters)")
        bid, ask = _number(msg, "bid"), _number(msg, "ask")
        if bid > ask:
            raise BadMessage(f"crossed quote for {symbol}: bid {bid} > ask {ask}")
        seq = msg.get("seq")
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
            raise BadMessage("'seq' must be an integer")
        current = self.quotes.get(symbol)
        if current is not None and None not in (seq, current.seq) and seq <= current.seq:
            raise BadMessage(f"stale update for {symbol}: seq {seq} <= {current.seq}")
        quote = Quote(
            bid=bid,
            ask=ask,
            bid_size=_number(msg, "bid_size", 0),
            ask_size=_number(msg, "ask_size", 0),
            seq=seq,
        )
        self.quotes[symbol] = quote
        return symbol, quote

    def snapshot(self) -> dict[str, dict]:
        return {
            s: {
                "bid": q.bid,
                "ask": q.ask,
                "bid_size": q.bid_size,
                "ask_size": q.ask_size,
                "seq": q.seq,
            }
            for s, q in sorted(self.quotes.items())
        }


def decide(quote: Quote, risk: dict) -> str:
    """The engine's "trade": join the best bid for the displayed size, if risk allows.

    Returns "order" or "risk_reject". No order leaves the process; the decision is what
    tick-to-trade latency is measured to.
    """
    qty = min(quote.bid_size, quote.ask_size) or 1.0
    if qty > risk["max_order_qty"] or qty * quote.bid > risk["max_notional"]:
        return "risk_reject"
    return "order"
