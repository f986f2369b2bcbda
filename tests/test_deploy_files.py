"""docs/deploy/ against the code it describes: the settings file starts a server, and the unit's
and the proxy's numbers still cover what Townhall needs (docs/deployment.md)."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

from townhall.cli import uvicorn_options
from townhall.config import Settings
from townhall.transport.http_limits import files_wanted
from townhall.transport.layer import SocketLayer

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "docs" / "deploy"


def _values(path: Path, pattern: str) -> list[str]:
    return re.findall(pattern, path.read_text(encoding="utf-8"), flags=re.MULTILINE)


def _env_file() -> dict[str, str]:
    lines = (DEPLOY / "townhall.env").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return {name: value for name, value in pairs}


def test_the_settings_file_is_read_as_it_stands_and_with_each_commented_line() -> None:
    environ = _env_file()
    settings = Settings.from_env(environ)
    assert (settings.host, settings.port, settings.log_format) == ("127.0.0.1", 8000, "json")
    assert settings.max_connections_per_address == 0
    # Each commented setting, given a value of the kind it asks for, is a setting too.
    commented = _values(DEPLOY / "townhall.env", r"^#(TOWNHALL_[A-Z_]+)=")
    example = {
        "TOWNHALL_SECRET": "s" * 43,
        "TOWNHALL_HOST_KEY": "k" * 32,
        "TOWNHALL_REDIS_URL": "redis://:password@127.0.0.1:6379/0",
        "TOWNHALL_WORKERS": "2",
    }
    assert sorted(commented) == sorted(example)
    Settings.from_env({**environ, **example})


def test_the_unit_leaves_room_for_the_files_and_the_graceful_stop() -> None:
    unit = DEPLOY / "townhall.service"
    (limit,) = _values(unit, r"^LimitNOFILE=(\d+)$")
    assert int(limit) >= files_wanted(Settings().max_connections_per_address)
    (stop,) = _values(unit, r"^TimeoutStopSec=(\d+)s$")
    assert int(stop) > uvicorn_options(Settings())["timeout_graceful_shutdown"]
    (exec_start,) = _values(unit, r"^ExecStart=(.+)$")
    assert "townhall serve" in exec_start and "/var/lib/townhall" in exec_start
    assert _env_file()["TOWNHALL_DATA_DIR"] == "/var/lib/townhall"
    assert _values(unit, r"^StateDirectory=(.+)$") == ["townhall"]


def test_the_proxy_waits_longer_than_a_quiet_connection_lasts() -> None:
    eio = SocketLayer(Settings(), ["websocket"]).sio.eio
    quiet = eio.ping_interval + eio.ping_timeout  # the longest a live connection says nothing
    for name in ("proxy_read_timeout", "proxy_send_timeout"):
        (seconds,) = _values(DEPLOY / "nginx-townhall.conf", rf"^\s*{name} (\d+)s;$")
        assert int(seconds) > quiet, name
    site = (DEPLOY / "nginx-townhall.conf").read_text(encoding="utf-8")
    # $host would drop the port the browser's Origin carries (docs/deployment.md, tried).
    assert "proxy_set_header Host $http_host;" in site
    assert "location = /metrics" in site
    assert _values(DEPLOY / "Caddyfile", r"^\s*respond /metrics 403$")


def test_the_image_builds_the_wheel_from_what_the_build_reads_and_keeps_no_source() -> None:
    spec = importlib.util.spec_from_file_location("townhall_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    read_by_the_build = {
        "pyproject.toml",
        "setup.py",
        "MANIFEST.in",
        project["readme"],
        "package-lock.json",
        "townhall",
        "rooms",
        *setup.COPIED,
    }
    wheel_stage, image = (
        (DEPLOY / "Containerfile").read_text(encoding="utf-8").split("\nFROM ${BASE}\n")
    )
    copied = {
        source.split("/")[0]
        for line in re.findall(r"^COPY (.+)$", wheel_stage, flags=re.MULTILINE)
        for source in line.split()[:-1]
    }
    assert read_by_the_build <= copied, read_by_the_build - copied
    # The image gets the lock and the wheel as mounts for the install step alone: no checkout.
    assert not re.findall(r"^(COPY|ADD) ", image, flags=re.MULTILINE)
    install = " ".join(image.replace("\\\n", " ").split())  # continuation lines joined
    assert (
        "pip install --no-cache-dir --require-hashes -r /run/townhall/requirements.lock" in install
    )
    assert "pip install --no-cache-dir --no-deps /run/townhall/dist/townhall-" in install
