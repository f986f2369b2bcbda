"""One forum's phones over several generator processes, when one Node process cannot offer the
rate: each runs loadtest/peers/gen.js over its share of the phones and of the rate, and they
start voting together and read the final tally together (gen.js `--barrier`). Their figures are
merged into one result as one generator's would be: counts summed, latencies from every vote,
lost and double-counted votes from the final tally against every phone's last acked ballot.

`run` starts and steers the processes; `merge` is pure, and tested on its own."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import IO, Any

# Figures summed over the generators.
SUMMED = (
    "phones",
    "connected",
    "rate",
    "sent",
    "resends",
    "skipped",
    "acked",
    "acked_in_period",
    "unacked",
    "retries",
    "retry_found_stored",
    "gave_up",
    "duplicate_acks",
    "resend_not_duplicate",
    "new_marked_duplicate",
    "latency_unseen",
    "deliveries",
    "phone_pushes_per_s",
    "disconnects",
    "expected_voters",
    "gen_cpu_s",
    "gen_cpu_pct",
    "gen_cpu_total_s",
)
SUMMED_COUNTS = ("refused", "connect_errors", "expected_counts")
LARGEST = ("connect_s", "cookies_s", "vote_s", "gen_loop_delay_p99_ms", "max_acked_version")
MEAN = ("server_cpu_s", "server_cpu_pct", "server_system_cpu_s")
# What each generator's own row keeps, for the report.
OWN = ("phones", "acked", "gen_cpu_pct", "gen_loop_delay_p99_ms", "ack_p99_ms", "error")


def shares(phones: int, generators: int) -> list[tuple[int, int]]:
    """(first phone, phones) for each generator: as even as whole phones allow."""
    base, extra = divmod(phones, generators)
    out, first = [], 0
    for g in range(generators):
        count = base + (1 if g < extra else 0)
        out.append((first, count))
        first += count
    return out


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """gen.js's percentile: the value at floor(q·n), the last for q near 1."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def merge(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The generators' RESULTs (each run with --samples, over one forum) as one result."""
    if not results:
        raise ValueError("no generator results to merge")
    merged: dict[str, Any] = {"seconds": results[0].get("seconds"), "generators": len(results)}
    for key in SUMMED:
        values = [r[key] for r in results if isinstance(r.get(key), int | float)]
        merged[key] = round(sum(values), 2) if values else None
    for key in SUMMED_COUNTS:
        total: Counter[str] = Counter()
        for r in results:
            total.update(r.get(key) or {})
        merged[key] = dict(total)
    for key in LARGEST:
        values = [r[key] for r in results if isinstance(r.get(key), int | float)]
        merged[key] = max(values) if values else None
    for key in MEAN:
        values = [r[key] for r in results if isinstance(r.get(key), int | float)]
        merged[key] = round(sum(values) / len(values), 2) if values else None
    errors = [f"generator {g}: {r['error']}" for g, r in enumerate(results) if r.get("error")]
    if errors:
        merged["error"] = "; ".join(errors)
    vote_s = merged["vote_s"]
    if vote_s:
        merged["acked_per_s"] = round(merged["acked_in_period"] / vote_s)
    _latencies(merged, results)
    _memory(merged, results)
    _conservation(merged, results)
    # Each generator's "other CPU" counts the other generators as other work; the machine's
    # busy time less the server and every generator is what was really other work.
    machine = [
        r["other_cpu_s"] + r["server_cpu_s"] + r["gen_cpu_s"]
        for r in results
        if all(
            isinstance(r.get(k), int | float) for k in ("other_cpu_s", "server_cpu_s", "gen_cpu_s")
        )
    ]
    if machine and len(machine) == len(results):
        other = sum(machine) / len(machine) - merged["server_cpu_s"] - merged["gen_cpu_s"]
        merged["other_cpu_s"] = round(other, 2)
    merged["projector_tallies"] = results[0].get("projector_tallies")
    merged["per_generator"] = [{k: r.get(k) for k in OWN} for r in results]
    return merged


def _latencies(merged: dict[str, Any], results: Sequence[dict[str, Any]]) -> None:
    acks = sorted(ms for r in results for ms in r.get("ack_ms_all") or ())
    tallies = sorted(ms for r in results for ms in r.get("latency_ms_all") or ())
    merged["ack_p50_ms"] = percentile(acks, 0.5)
    merged["ack_p99_ms"] = percentile(acks, 0.99)
    merged["latency_samples"] = len(tallies)
    merged["latency_p50_ms"] = percentile(tallies, 0.5)
    merged["latency_p99_ms"] = percentile(tallies, 0.99)
    merged["latency_max_ms"] = tallies[-1] if tallies else None


def _memory(merged: dict[str, Any], results: Sequence[dict[str, Any]]) -> None:
    """Before: the lowest reading (before any phone); after: the highest (every one in)."""
    before = [r["rss_before_mb"] for r in results if r.get("rss_before_mb") is not None]
    after = [r["rss_after_mb"] for r in results if r.get("rss_after_mb") is not None]
    if before and after and merged["phones"]:
        merged["rss_before_mb"], merged["rss_after_mb"] = min(before), max(after)
        kib = (max(after) - min(before)) * 1024 / merged["phones"]
        merged["rss_per_conn_kb"] = round(kib, 2)


def _conservation(merged: dict[str, Any], results: Sequence[dict[str, Any]]) -> None:
    """Lost and double-counted votes: the newest final tally any generator's projector read
    (each waited for every generator's highest acked version) against the phones' last acked
    ballots, summed over generators."""
    finals = [r for r in results if r.get("final_version") is not None]
    if not finals:
        merged.update(final_version=None, final_counts=None, lost=None, double=None)
        return
    newest = max(finals, key=lambda r: r["final_version"])
    counts: dict[str, int] = newest.get("final_counts") or {}
    expected: dict[str, int] = merged["expected_counts"]
    lost = double = 0
    for option in sorted(set(counts) | set(expected)):
        diff = counts.get(option, 0) - expected.get(option, 0)
        lost += max(0, -diff)
        double += max(0, diff)
    merged.update(
        final_version=newest["final_version"],
        final_counts=counts,
        final_voters=newest.get("final_voters"),
        lost=lost,
        double=double,
        forums=1,
        forums_behind=int(newest["final_version"] < (merged["max_acked_version"] or -1)),
        forums_unequal=int(bool(lost or double)),
    )


class Generator:
    """One gen.js process: its standard output read line by line on a thread of its own."""

    def __init__(self, command: list[str]) -> None:
        self.errors: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, word: str, deadline: float) -> str:
        """The rest of the next line starting with `word`; a RESULT instead is a failure."""
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"a generator did not say {word} in time") from None
            if line is None:
                raise RuntimeError(f"a generator ended before {word}: {self.stderr()}")
            if line.startswith(word):
                return line.removeprefix(word).strip()
            if line.startswith("RESULT ") and word != "RESULT":
                failed = json.loads(line.removeprefix("RESULT ")).get("error")
                raise RuntimeError(f"a generator stopped before {word}: {failed}")

    def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stderr(self) -> str:
        self.errors.seek(0)
        return self.errors.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.reader.join(timeout=10)  # the output read to its end
        for pipe in (self.process.stdin, self.process.stdout, self.errors):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a pipe the process closed first
                    pipe.close()


def run(commands: Sequence[list[str]], budget: float) -> dict[str, Any]:
    """Run the generators (commands with --barrier and --samples) in step; the merged result.
    `budget`: seconds the whole run may take."""
    deadline = time.monotonic() + budget
    generators = [Generator(command) for command in commands]
    try:
        for g in generators:
            g.expect("READY", deadline)
        for g in generators:
            g.say("GO")
        drained = [g.expect("DRAINED", deadline) for g in generators]
        versions = [[int(v) for v in line.split(",")] for line in drained]
        highest = [max(column) for column in zip(*versions, strict=True)]
        for g in generators:
            g.say("CATCHUP " + ",".join(map(str, highest)))
        results = [json.loads(g.expect("RESULT", deadline)) for g in generators]
        merged = merge(results)
        stderr = "".join(g.stderr() for g in generators).strip()
        if stderr:
            merged["stderr"] = stderr[-2000:]
        return merged
    finally:
        for g in generators:
            g.stop()
