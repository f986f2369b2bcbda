"""Token buckets: every message, or every new participant id from one address, costs a token;
an empty bucket refuses."""

from __future__ import annotations

import functools
import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens added per second
    burst: float  # bucket size
    tokens: float = -1.0
    updated: float = field(default_factory=time.monotonic)

    def take(self, now: float | None = None) -> bool:
        """Spend one token if there is one."""
        now = time.monotonic() if now is None else now
        if self.tokens < 0:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def available(self, now: float | None = None) -> bool:
        """Whether a token could be spent now, without spending it."""
        now = time.monotonic() if now is None else now
        if self.tokens < 0:
            return self.burst >= 1
        return min(self.burst, self.tokens + (now - self.updated) * self.rate) >= 1


# Client addresses whose buckets are kept at once; past it the least recently seen is dropped,
# which only hands that address a fresh burst.
MAX_ADDRESSES = 10_000


# A joining phone's address is read twice (its page, its socket) and a hall's repeat: parsed once.
@functools.lru_cache(maxsize=4096)
def address_key(host: str | None) -> str:
    """Whose bucket a request spends: its IPv4 address, or its IPv6 /64, which one device or one
    network's devices commonly hold whole (as a NAT's phones share one IPv4 address)."""
    if not host:
        return ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class AddressBuckets:
    """A token bucket per client address, with the table's memory bounded.

    A bucket left alone for `burst / rate` seconds is full again, as a new one would be, so it is
    dropped: the table holds only the addresses seen in the last few seconds. A rate of 0 turns
    the limit off.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        max_addresses: int = MAX_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_addresses = max_addresses
        self.clock = clock
        self.buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def available(self, address: str) -> bool:
        """Whether the address has a token to spend now, without spending it."""
        bucket = self.buckets.get(address)
        return self.rate <= 0 or bucket is None or bucket.available(self.clock())

    def take(self, address: str) -> float:
        """Spend one of the address's tokens: 0 if it had one, else the seconds until it will."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        refilled = self.burst / self.rate
        # Least recently used first: every bucket from the front that has refilled goes.
        while self.buckets:
            oldest = next(iter(self.buckets.values()))
            if now - oldest.updated < refilled and len(self.buckets) < self.max_addresses:
                break
            self.buckets.popitem(last=False)
        bucket = self.buckets.pop(address, None) or TokenBucket(self.rate, self.burst, -1.0, now)
        self.buckets[address] = bucket
        if bucket.take(now):
            return 0.0
        return max((1 - bucket.tokens) / self.rate, 1e-3)
