"""/metrics in the Prometheus text format, and the directory the workers share for it.

One process exports its own registry (with the client library's process and Python metrics).
Under `--workers N` (`townhall serve` calls `metric_files` before it starts them) each worker
writes its values to files in a fresh private directory, and whichever worker answers /metrics
reads every worker's files and adds them up.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
NOT_CACHED = {"cache-control": "no-store"}


@contextlib.contextmanager
def metric_files(enabled: bool, workers: int) -> Iterator[None]:
    """For the block (the server's lifetime), where the metrics go to files: a new, empty
    directory only this user may read, named in PROMETHEUS_MULTIPROC_DIR, removed afterwards.

    Under `--workers N` the workers inherit it. One process keeps its values in memory, unless
    its environment named a directory already: the client library then writes files whatever
    Townhall does (it decides when first imported), so the process gets a fresh directory too,
    never an old one whose counts it would add to its own, nor a missing one it would stop on.
    """
    inherited = MULTIPROCESS_DIR in os.environ or MULTIPROCESS_DIR.lower() in os.environ
    if not enabled or (workers == 1 and not inherited):
        yield
        return
    directory = tempfile.mkdtemp(prefix="townhall-metrics-")
    previous = os.environ.get(MULTIPROCESS_DIR)
    os.environ[MULTIPROCESS_DIR] = directory  # the library prefers it to the older lower case
    # One process's uvicorn, stopped by SIGTERM, raises it again once it has shut down, and no
    # `finally` outlives that: this handler, which it puts back first, removes the directory.
    handler = signal.signal(signal.SIGTERM, _removing(directory))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, handler)
        if previous is None:
            del os.environ[MULTIPROCESS_DIR]
        else:
            os.environ[MULTIPROCESS_DIR] = previous
        shutil.rmtree(directory, ignore_errors=True)


def _removing(directory: str) -> Callable[[int, FrameType | None], None]:
    """A signal handler: remove `directory`, then end as the signal would have."""

    def handler(signum: int, frame: FrameType | None) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    return handler


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
            # Two workers scraped at once may both find it: the one that removes it second
            # finds its files gone, which is what it wanted.
            with contextlib.suppress(FileNotFoundError):
                mark_process_dead(int(pid), str(directory))  # type: ignore[no-untyped-call]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
