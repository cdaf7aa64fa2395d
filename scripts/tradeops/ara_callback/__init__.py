"""ARA's callback as tradeops enables it (ara_default.py beside this file)."""
