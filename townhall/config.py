"""Settings: from `TOWNHALL_*` environment variables, overridden by command-line options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PREFIX = "TOWNHALL_"
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel")
NOT_IN_URLS = frozenset(' "<>\\^`{|}')  # RFC 3986: never in a URL as they are
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's names


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "0.0.0.0"  # noqa: S104 - phones in the room must reach the server
    port: int = 8000
    data_dir: Path = Path("data")
    redis_url: str = ""  # empty: the embedded engine; redis://HOST:PORT/DB to share a forum
    workers: int = 1  # worker processes on one port (more than one needs redis_url)
    room: str = ""  # the programme file, handed to worker processes
    public_url: str = ""  # the address phones use; derived from the machine's LAN address if empty
    host_key: str = ""  # fixed host key; generated and kept in the data dir if empty
    secret: str = ""  # cookie-signing secret; generated and kept in the data dir if empty
    tick_ms: int = 100  # how often coalesced results go out
    # New participant ids (cookies) one client address may be given from the join page: a token
    # bucket per address, per worker, refilled at `join_rate` a second up to `join_burst`. A hall
    # of 3,000 phones behind one NAT is in within two minutes; 0 turns the limit off.
    join_rate: float = 30.0
    join_burst: int = 300
    # Broadcasts framed once and written to every socket; off: python-socketio's own path, kept
    # for comparison in benchmarks and as a fallback.
    fast_broadcast: bool = True
    # Plain Engine.IO WebSockets served by townhall.transport.lean_websocket, with no task or queue
    # per connection; off: every WebSocket goes through uvicorn's ASGI and python-engineio's socket.
    lean_websocket: bool = True
    # From the Engine.IO handshake to the Socket.IO CONNECT; a client that has not connected to
    # the forum by then is closed, so an idle Engine.IO session holds nothing for long.
    connect_timeout_ms: int = 20_000
    log_level: str = "info"
    # The log's format: "plain" lines for a terminal, or "json", one object a line for a
    # collector (townhall/logformat.py).
    log_format: str = "plain"
    # Seconds a connection has to send a whole request head (request line and headers), on
    # connecting and after each response; one that trickles or stops is closed.
    header_timeout: float = 10.0
    # Connections one client address may hold at once, per worker; 0: no cap. Enough for a hall
    # of phones behind one NAT. Behind a reverse proxy every connection comes from the proxy.
    max_connections_per_address: int = 5000
    # Connections the kernel may hold completed but not yet accepted, while the server is busy:
    # a hall scanning the QR code at once arrives faster than one core accepts. Past it the
    # kernel drops them and phones see a reset. Linux caps it at net.core.somaxconn
    # (docs/operations.md, "A hall joining at once").
    listen_backlog: int = 16384
    # Days a forum's personal data is kept after its last activity; `townhall purge --expired`
    # purges the forums past it (docs/operations.md, "Backups and retention"). 0: kept for ever.
    retention_days: int = 0
    # Prometheus metrics at /metrics (townhall/metrics.py); off: /metrics is not found.
    metrics: bool = False
    # If set, /metrics answers only `Authorization: Bearer <token>`.
    metrics_token: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read every `TOWNHALL_*` variable; an unknown or malformed one is an error."""
        values: dict[str, Any] = {}
        known = {name.upper(): name for name in cls.__slots__}
        for key, raw in environ.items():
            if not key.startswith(PREFIX):
                continue
            name = known.get(key[len(PREFIX) :])
            if name is None:
                raise SettingsError(f"{key}: unknown setting")
            values[name] = _convert(name, key, raw)
        return cls(**values).checked()

    def override(self, **changes: Any) -> Settings:
        """These settings with the given values replaced (None leaves a value as it is)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None}).checked()

    @property
    def engine_url(self) -> str:
        return self.redis_url or "memory://"

    @property
    def shared(self) -> bool:
        """Whether the forums are kept in Redis, where other workers and nodes serve them too."""
        return bool(self.redis_url)

    def checked(self) -> Settings:
        if not 0 < self.port < 65536:
            raise SettingsError(f"{PREFIX}PORT: {self.port} is not a TCP port")
        if not 1 <= self.workers <= 64:
            raise SettingsError(f"{PREFIX}WORKERS: must be from 1 to 64")
        if self.workers > 1 and not self.redis_url:
            raise SettingsError(
                f"{PREFIX}WORKERS: several workers share a forum only through Redis;"
                " set --redis (or TOWNHALL_REDIS_URL)"
            )
        if self.redis_url and urlsplit(self.redis_url).scheme not in REDIS_SCHEMES:
            raise SettingsError(
                f"{PREFIX}REDIS_URL: {self.redis_url!r} is not a redis:// or redis+sentinel:// URL"
            )
        if self.log_level.lower() not in LOG_LEVELS:
            raise SettingsError(
                f"{PREFIX}LOG_LEVEL: {self.log_level!r} is not one of {', '.join(LOG_LEVELS)}"
            )
        if self.log_format not in ("plain", "json"):
            raise SettingsError(f"{PREFIX}LOG_FORMAT: must be plain or json")
        if not 10 <= self.tick_ms <= 5000:
            raise SettingsError(f"{PREFIX}TICK_MS: must be from 10 to 5000 milliseconds")
        if not 0 <= self.join_rate <= 100_000:
            raise SettingsError(f"{PREFIX}JOIN_RATE: must be from 0 (no limit) to 100000 a second")
        if not 1 <= self.join_burst <= 1_000_000:
            raise SettingsError(f"{PREFIX}JOIN_BURST: must be from 1 to 1000000")
        if not 100 <= self.connect_timeout_ms <= 600_000:
            raise SettingsError(
                f"{PREFIX}CONNECT_TIMEOUT_MS: must be from 100 to 600000 milliseconds"
            )
        if not 0 <= self.retention_days <= 36_500:
            raise SettingsError(f"{PREFIX}RETENTION_DAYS: must be from 0 (keep) to 36500 days")
        if not 0.1 <= self.header_timeout <= 300:
            raise SettingsError(f"{PREFIX}HEADER_TIMEOUT: must be from 0.1 to 300 seconds")
        if not 1 <= self.listen_backlog <= 1_000_000:
            raise SettingsError(f"{PREFIX}LISTEN_BACKLOG: must be from 1 to 1000000")
        if self.max_connections_per_address < 0:
            raise SettingsError(f"{PREFIX}MAX_CONNECTIONS_PER_ADDRESS: must be 0 (no cap) or more")
        if self.public_url:
            _check_public_url(self.public_url)
        if self.host_key and len(self.host_key) < 16:
            raise SettingsError(f"{PREFIX}HOST_KEY: use at least 16 characters")
        if self.metrics_token and (len(self.metrics_token) < 16 or not _token(self.metrics_token)):
            raise SettingsError(
                f"{PREFIX}METRICS_TOKEN: use at least 16 letters, digits or -._~+/ characters"
            )
        if self.secret and len(self.secret) < 32:
            raise SettingsError(f"{PREFIX}SECRET: use at least 32 characters")
        return self


def _check_public_url(url: str) -> None:
    """The join link and its QR code are this address with `/j/CODE` after it: a query, a
    fragment, a user name or a space would put the code where no page reads it."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        valid_port = False
    else:
        valid_port = True
    if parts.scheme not in ("http", "https") or not parts.hostname or not valid_port:
        raise SettingsError(f"{PREFIX}PUBLIC_URL: {url!r} is not an http(s) URL")
    if parts.query or parts.fragment or "?" in url or "#" in url or "@" in parts.netloc:
        raise SettingsError(
            f"{PREFIX}PUBLIC_URL: {url!r}: give the scheme, host, port and path only"
            " (no query, fragment or user name)"
        )
    if not url.isprintable() or any(c in NOT_IN_URLS for c in url):
        raise SettingsError(f"{PREFIX}PUBLIC_URL: {url!r} has a space or a character URLs escape")


def _token(text: str) -> bool:
    """Whether `text` can be sent as an RFC 6750 bearer token as it is."""
    return all(c.isascii() and (c.isalnum() or c in "-._~+/") for c in text.rstrip("="))


def _convert(name: str, key: str, raw: str) -> Any:
    if name == "join_rate":
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{key}: {raw!r} is not a number") from None
    if name in (
        "join_burst",
        "retention_days",
        "port",
        "tick_ms",
        "workers",
        "connect_timeout_ms",
        "max_connections_per_address",
        "listen_backlog",
    ):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{key}: {raw!r} is not a whole number") from None
    if name == "header_timeout":
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{key}: {raw!r} is not a number of seconds") from None
    if name == "data_dir":
        return Path(raw)
    if name in ("fast_broadcast", "lean_websocket", "metrics"):
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise SettingsError(f"{key}: {raw!r} is not on or off (1/0, true/false)")
        return raw.lower() in ("1", "true", "yes", "on")
    return raw
