"""A real headless Chromium (Debian's chromium + chromium-driver) driven over the W3C
WebDriver protocol on 127.0.0.1: enough to load a local file and read the rendered page.

The browser runs offline: --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
--disable-background-networking --disable-component-update --disable-sync and a fresh
--user-data-dir, and it is only ever given file:// pages."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def available() -> str | None:
    """Why the browser cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return "chromium is not installed (lab/debian-packages.txt; ./dev setup installs it)"
    if not shutil.which("chromedriver"):
        return "chromedriver is not installed (Debian package chromium-driver; ./dev setup)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    def __init__(self, workdir: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / "chromedriver.log", "wb")  # noqa: SIM115 - closed in quit()
        self.driver = subprocess.Popen(
            [shutil.which("chromedriver") or "chromedriver", f"--port={self.port}"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if self._call("GET", "/status")["value"].get("ready"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.quit()
                raise RuntimeError("chromedriver did not start (see chromedriver.log)")
            time.sleep(0.2)
        profile = workdir / "chromium-profile"
        profile.mkdir()
        options = {"binary": CHROMIUM, "args": [*ARGS, f"--user-data-dir={profile}"]}
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}}
        self.session = self._call("POST", "/session", caps)["value"]["sessionId"]

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as err:
            raise AssertionError(f"WebDriver {method} {path}: {err.read().decode()[:500]}") from err

    def _session(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)["value"]

    def open(self, page: Path) -> None:
        self._session("POST", "/url", {"url": page.resolve().as_uri()})

    def run(self, script: str, *args: Any) -> Any:
        return self._session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self._session("GET", "/screenshot")))

    def quit(self) -> None:
        try:
            if getattr(self, "session", None):
                self._call("DELETE", f"/session/{self.session}")
        except (OSError, AssertionError):
            pass
        self.driver.terminate()
        try:
            self.driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.driver.kill()
        self.log.close()


# What the page shows, read from the rendered DOM (computed styles included).
READ_PAGE = """
const rows = [...document.querySelectorAll('#fleet tbody tr[data-host]')];
const fail = document.querySelector('.check.fail');
return {
  title: document.title,
  heading: document.querySelector('#title') ? document.querySelector('#title').innerText : null,
  height: document.body.scrollHeight,
  resources: performance.getEntriesByType('resource').length,
  rows: rows.map(r => ({
    host: r.dataset.host,
    status: r.dataset.status,
    visible: r.getBoundingClientRect().height > 0,
    text: r.innerText,
    cells: Object.fromEntries([...r.querySelectorAll('td[data-col]')].map(
      td => [td.dataset.col, td.dataset.status || ''])),
    failing_checks: [...r.querySelectorAll('.check.fail')].map(c => c.dataset.check),
  })),
  fail_badge_background: fail ? getComputedStyle(fail).backgroundColor : null,
  failing_row_border: rows.filter(r => r.dataset.status === 'failing').map(
    r => getComputedStyle(r.cells[0]).borderLeftColor),
};
"""
