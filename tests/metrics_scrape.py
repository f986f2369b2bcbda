"""Reading a Townhall's /metrics as Prometheus would: the text parsed by prometheus_client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from itsdangerous import URLSafeSerializer
from prometheus_client.parser import text_string_to_metric_families

MESSAGES = "townhall_messages_total"
LAG_COUNT = "townhall_event_loop_lag_seconds_count"
GC_COUNT = "townhall_gc_pause_seconds_count"
CONNECTED = "townhall_connections"
SALT = "townhall.participant"  # the cookie's (townhall/identity.py), to read the id back


@dataclass(frozen=True)
class Scrape:
    """One answer of /metrics: its text, and every sample by name and labels."""

    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """A sample's value; 0 if it is not there (a counter nothing has moved yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def families(self) -> set[str]:
        return {name for name, _ in self.samples}

    def label_values(self) -> set[str]:
        return {value for _, labels in self.samples for _, value in labels}


def parse(text: str) -> Scrape:
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return Scrape(text, samples)


async def scrape(url: str, token: str = "") -> Scrape:
    """GET /metrics on a new connection, so that under several workers any one may answer."""
    headers = {"Connection": "close", **({"Authorization": f"Bearer {token}"} if token else {})}
    async with httpx.AsyncClient(timeout=5, headers=headers) as http:
        response = await http.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def scrape_when(url: str, check: Callable[[Scrape], bool], token: str = "") -> Scrape:
    """The first scrape that passes `check` (what a sampler brings about within a second)."""
    for _ in range(100):
        scraped = await scrape(url, token)
        if check(scraped):
            return scraped
        await asyncio.sleep(0.05)
    raise AssertionError(f"/metrics never passed the check: {scraped.text}")


def assert_names_no_one(scraped: Scrape, code: str, host_key: str, cookies: list[str]) -> None:
    """No join code, key, cookie, participant id, forum id or name anywhere in /metrics."""
    ids = [URLSafeSerializer("-", salt=SALT).loads_unsafe(cookie)[1] for cookie in cookies]
    assert all(isinstance(participant, str) and len(participant) > 8 for participant in ids)
    secrets = [code, code.lower(), host_key, "test-forum", "시험", *cookies, *ids]
    for secret in secrets:
        assert secret not in scraped.text
    for value in scraped.label_values():
        assert not any(secret in value for secret in secrets)
