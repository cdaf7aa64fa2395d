"""Command-line arguments several tradeops commands share (run, plan, drift)."""

from __future__ import annotations

import argparse

DEFAULT_INVENTORY = "inventories/lab"


def csv(value: str) -> list[str]:
    """`a, b,,c` -> ["a", "b", "c"] (tags and the like)."""
    return [part.strip() for part in value.split(",") if part.strip()]


def add_scope(parser: argparse.ArgumentParser) -> None:
    """What a run covers: the inventory, tags to run or skip, a host pattern."""
    parser.add_argument(
        "-i",
        "--inventory",
        default=DEFAULT_INVENTORY,
        help=f"inventory directory (default: {DEFAULT_INVENTORY})",
    )
    parser.add_argument("-t", "--tags", type=csv, default=[], help="only tasks with these tags")
    parser.add_argument("--skip-tags", type=csv, default=[], help="skip tasks with these tags")
    parser.add_argument("-l", "--limit", help="limit to a host pattern")
