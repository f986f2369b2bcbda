"""A real redis-server for the tests: started on a free loopback port, never the shared one."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis


def wait_for_ping(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the server on `port` answers PING; fails with its log if the process died."""
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    try:
        for _ in range(500):
            assert process.poll() is None, log.read_text(errors="replace")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.01)
        raise AssertionError(f"the server on port {port} did not start: {log.read_text()}")
    finally:
        client.close()


class RedisServer:
    """`redis-server` in a child process with its own dir; appendonly with fsync on every write,
    so a kill -9 loses nothing it acknowledged."""

    def __init__(self, directory: Path, port: int, *extra: str) -> None:
        self.directory = directory
        self.port = port
        self.extra = extra
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: apt-get install redis-server")
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--daemonize",
                "no",
                *self.extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_ping(self.port, self.process, self.directory / "redis.log")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def flush(self) -> None:
        client = redis.Redis(port=self.port)
        try:
            client.flushall()
        finally:
            client.close()


class SentinelServer:
    """`redis-server --sentinel` watching one master, quick to declare it down."""

    def __init__(self, directory: Path, port: int, master_port: int, name: str) -> None:
        self.directory = directory
        self.port = port
        self.master_port = master_port
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: apt-get install redis-server")
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "sentinel.conf"
        conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.directory}\n"
            f"sentinel monitor {self.name} 127.0.0.1 {self.master_port} 1\n"
            f"sentinel down-after-milliseconds {self.name} 500\n"
            f"sentinel failover-timeout {self.name} 3000\n"
        )
        log = (self.directory / "sentinel.log").open("ab")
        self.process = subprocess.Popen(
            [binary, str(conf), "--sentinel"], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        wait_for_ping(self.port, self.process, self.directory / "sentinel.log")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
