"""Configuration: one JSON or INI file, validated into a dict of sections.

JSON layout (INI: one section per key below; venues as ``[venue:NAME]`` sections)::

    {
      "engine":    {"name": "refengine-a", "region": "us-east-1"},
      "http":      {"bind": "127.0.0.1", "port": 8080},
      "feed":      {"udp_enabled": true, "udp_bind": "127.0.0.1", "udp_port": 9000,
                    "kinesis_stream": null, "kinesis_endpoint_url": null,
                    "kinesis_region": "us-east-1", "kinesis_iterator": "LATEST",
                    "kinesis_poll_seconds": 0.2},
      "placement": {"mlockall": false, "hugetlbfs_mount": null,
                    "hugepage_buffer_mb": 2, "strict": false},
      "risk":      {"max_order_qty": 1000, "max_notional": 1000000.0},
      "orders":    {"enabled": false, "required": false, "connect_timeout": 2.0},
      "venues":    {"xnys": {"endpoint": "fix://...", ...}},
      "db":        {...}, "redis": {...}
    }

venues and redis are carried and shown (redacted) only; db is where orders go when the
orders section enables them (host, port, name, user, password; see orders.py). Secrets
do not belong in this file: use the environment / an instance role for AWS, and keep
anything secret-like out of logs (see ``redact``); the db password is redacted like any.
"""

from __future__ import annotations

import configparser
import copy
import json
import re
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or invalid."""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


def _port(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a port number, got {value!r}")
    port = int(value)
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is outside 0..65535 (0 = any free port)")
    return port


def _positive_float(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(f"expected a positive number, got {value!r}")
    return number


def _positive_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a positive integer, got {value!r}")
    number = int(value)
    if number <= 0:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return number


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _iterator(value: Any) -> str:
    text = str(value).strip().upper()
    if text not in ("LATEST", "TRIM_HORIZON"):
        raise ValueError(f"expected LATEST or TRIM_HORIZON, got {value!r}")
    return text


# section -> key -> (converter, default)
SCHEMA: dict[str, dict[str, tuple[Any, Any]]] = {
    "engine": {"name": (str, "refengine"), "region": (str, "")},
    "http": {"bind": (str, "127.0.0.1"), "port": (_port, 8080)},
    "feed": {
        "udp_enabled": (_bool, True),
        "udp_bind": (str, "127.0.0.1"),
        "udp_port": (_port, 9000),
        "kinesis_stream": (_opt_str, None),
        "kinesis_endpoint_url": (_opt_str, None),
        "kinesis_region": (str, "us-east-1"),
        "kinesis_iterator": (_iterator, "LATEST"),
        "kinesis_poll_seconds": (_positive_float, 0.2),
    },
    "placement": {
        "mlockall": (_bool, False),
        "hugetlbfs_mount": (_opt_str, None),
        "hugepage_buffer_mb": (_positive_int, 2),
        "strict": (_bool, False),
    },
    "risk": {
        "max_order_qty": (_positive_float, 1000.0),
        "max_notional": (_positive_float, 1_000_000.0),
    },
    # POST /orders writes to the db section's PostgreSQL (refengine/orders.py).
    # required: /ready answers 503 unless that database accepts writes.
    "orders": {
        "enabled": (_bool, False),
        "required": (_bool, False),
        "connect_timeout": (_positive_float, 2.0),
    },
}
CARRIED = ("venues", "db", "redis")  # shown; db is used by orders when they are enabled
DB_KEYS = ("host", "port", "name", "user", "password")


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: invalid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be an object")
        return data
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise ConfigError(f"{path}: invalid INI: {exc}") from None
    data: dict[str, Any] = {}
    for section in parser.sections():
        values = dict(parser.items(section))
        if section.startswith("venue:"):
            data.setdefault("venues", {})[section.split(":", 1)[1].strip()] = values
        else:
            data[section] = values
    return data


def validate(raw: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(raw) - set(SCHEMA) - set(CARRIED))
    if unknown:
        raise ConfigError(
            f"unknown section(s) {', '.join(unknown)}; known: "
            f"{', '.join(sorted([*SCHEMA, *CARRIED]))}"
        )
    config: dict[str, Any] = {}
    for section, keys in SCHEMA.items():
        given = raw.get(section) or {}
        if not isinstance(given, dict):
            raise ConfigError(f"[{section}] must be a mapping")
        extra = sorted(set(given) - set(keys))
        if extra:
            raise ConfigError(
                f"[{section}] unknown key(s) {', '.join(extra)}; known: {', '.join(sorted(keys))}"
            )
        values = {}
        for key, (convert, default) in keys.items():
            if key not in given or given[key] is None:
                values[key] = default
                continue
            try:
                values[key] = convert(given[key])
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"[{section}] {key}: {exc}") from None
        config[section] = values
    for section in CARRIED:
        value = raw.get(section) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"[{section}] must be a mapping")
        config[section] = copy.deepcopy(value)
    if config["feed"]["kinesis_endpoint_url"] and not config["feed"]["kinesis_stream"]:
        raise ConfigError("[feed] kinesis_endpoint_url is set but kinesis_stream is not")
    if not config["feed"]["udp_enabled"] and not config["feed"]["kinesis_stream"]:
        raise ConfigError("[feed] no market data source: enable udp or set kinesis_stream")
    if config["orders"]["required"] and not config["orders"]["enabled"]:
        raise ConfigError("[orders] required is set but enabled is not")
    if config["orders"]["enabled"]:
        check_db_section(config["db"])
    return config


def check_db_section(db: dict) -> None:
    """The db section orders need: host, port, name, user, password."""
    missing = [key for key in DB_KEYS if db.get(key) in (None, "")]
    if missing:
        raise ConfigError(f"[orders] enabled needs [db] {', '.join(missing)}")
    port = db["port"]
    if isinstance(port, bool) or not str(port).isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"[db] port: expected 1..65535, got {port!r}")


def load(path: str | Path) -> dict[str, Any]:
    return validate(_read(Path(path)))


SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|access[_-]?key|private|credential|auth",
    re.IGNORECASE,
)
URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@", re.I)
REDACTED = "***redacted***"


def redact(value: Any, key: str = "") -> Any:
    """A copy with secret-looking values replaced: by key name, and passwords in URLs."""
    if key and SECRET_KEY.search(key) and value not in (None, "", {}, []):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", value)
    return value
