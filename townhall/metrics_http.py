"""/metrics in the Prometheus text format, and the directory the workers share for it.

One process exports its own registry (with the client library's process and Python metrics).
Under `--workers N` (`townhall serve` calls `shared_by_workers` before it starts them) each
worker writes its values to files in a fresh private directory, and whichever worker answers
/metrics reads every worker's files and adds them up.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
NOT_CACHED = {"cache-control": "no-store"}


@contextlib.contextmanager
def shared_by_workers(enabled: bool) -> Iterator[None]:
    """For the block (the workers' lifetime): a new, empty directory only this user may read,
    named in PROMETHEUS_MULTIPROC_DIR for the workers to inherit; removed afterwards."""
    if not enabled:
        yield
        return
    directory = tempfile.mkdtemp(prefix="townhall-metrics-")
    previous = os.environ.get(MULTIPROCESS_DIR)
    os.environ[MULTIPROCESS_DIR] = directory
    try:
        yield
    finally:
        if previous is None:
            del os.environ[MULTIPROCESS_DIR]
        else:
            os.environ[MULTIPROCESS_DIR] = previous
        shutil.rmtree(directory, ignore_errors=True)


def route(token: str, before: Callable[[], None]) -> Route:
    """GET /metrics; with a `token`, only for `Authorization: Bearer <token>`. `before` brings
    this worker's gauges up to date."""

    async def metrics(request: Request) -> Response:
        if token and not authorised(request.headers.get("authorization", ""), token):
            return Response(
                "a bearer token is needed for /metrics\n",
                status_code=401,
                media_type="text/plain",
                headers={"www-authenticate": 'Bearer realm="metrics"', **NOT_CACHED},
            )
        before()
        headers = {"content-type": CONTENT_TYPE_LATEST, **NOT_CACHED}
        return Response(exposition(), headers=headers)

    return Route("/metrics", metrics)


def authorised(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return (
        scheme.lower() == "bearer"
        and given.isascii()
        and secrets.compare_digest(given.strip().encode(), token.encode())
    )


def exposition() -> bytes:
    """Every metric, as the text format: this process's, or every worker's added up."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if not directory:
        return generate_latest(REGISTRY)
    forget_ended(Path(directory))
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def forget_ended(directory: Path) -> None:
    """Drop the live gauges of workers that have ended (uvicorn starts a new one for a worker
    that dies): their connections are gone. Their counters and histograms stay in the sums."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _running(int(pid)):
            mark_process_dead(int(pid), str(directory))  # type: ignore[no-untyped-call]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
