"""tradeops: guard-railed runs of the tradeops.platform collection, and its local lab."""

__version__ = "0.1.0"
