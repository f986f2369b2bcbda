"""Where each role opens a forum: the addresses printed at start, shown on the projector and
listed in the console."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from townhall.config import Settings
from townhall.keys import ForumKeys, moderator_key
from townhall.model.agenda import Programme

SIOCGIFADDR = 0x8915  # Linux ioctl: an interface's IPv4 address


@dataclass(frozen=True, slots=True)
class Addresses:
    """Where each role opens the forum: printed at start and shown on the projector."""

    phone: str
    host: str
    screen: str
    committee_members: int = 0  # their secret links are listed on the host screen
    moderator: str = ""  # the boards' moderator's secret link

    @classmethod
    def of(cls, base_url: str, keys: ForumKeys, programme: Programme | None = None) -> Addresses:
        selection = programme.selection if programme is not None else None
        return cls(
            phone=f"{base_url}/j/{keys.code}",
            host=f"{base_url}/host/{keys.code}#key={keys.host_key}",
            screen=f"{base_url}/screen/{keys.code}",
            committee_members=len(selection.committee) if selection is not None else 0,
            moderator=f"{base_url}/moderate/{keys.code}#key={moderator_key(keys.secret)}",
        )


def base_url(settings: Settings) -> str:
    """The address phones reach: the public URL if set, else this machine's LAN address."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = settings.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - comparing, not binding
        host = lan_address()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def lan_address() -> str:
    """This machine's first non-loopback IPv4 address, which phones on the same Wi-Fi can reach.

    Read from the network interfaces (no packet is sent); 127.0.0.1 if there is none.
    """
    candidates = [*_interface_addresses(), *_hostname_addresses()]
    return next((a for a in candidates if not a.startswith("127.")), "127.0.0.1")


def _interface_addresses() -> list[str]:
    try:
        import fcntl  # Linux and the BSDs; elsewhere the host name is asked instead

        names = [name for _, name in socket.if_nameindex()]
    except (ImportError, OSError):
        return []
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for name in names:
            try:
                request = struct.pack("256s", name.encode()[:15])
                reply = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:
                continue
            found.append(socket.inet_ntoa(reply[20:24]))
    return found


def _hostname_addresses() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]
