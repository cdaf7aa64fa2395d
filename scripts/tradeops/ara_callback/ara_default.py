"""ARA's `ara_default` callback, with Nagle's algorithm off on its offline server.

ARA's offline client (tradeops' default: SQLite, no server to run) serves its API from a
thread of the playbook's own process and calls it over loopback HTTP. Django's request
handler writes a response in several small segments; with Nagle's algorithm on, the last
one waits for the client's delayed ACK (40 ms), and every task result costs a few such
round trips: 0.18 s per task and host, measured on 200 results (16.5 s without ARA,
52.8 s with it, 32.5 s with this). The callback itself is ARA's, unchanged.
"""

from __future__ import annotations

from ara.clients import offline

# socketserver.StreamRequestHandler sets TCP_NODELAY on each connection when this is true.
offline.QuietWSGIRequestHandler.disable_nagle_algorithm = True

from ara.plugins.callback.ara_default import DOCUMENTATION, CallbackModule  # noqa: E402

__all__ = ["DOCUMENTATION", "CallbackModule"]
