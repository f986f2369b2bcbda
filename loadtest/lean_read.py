"""What the lean WebSocket spends reading a vote and framing its ack, the libraries' way and the
short way (townhall/transport/lean_frames.py, lean_events.py), in one process, with timeit.

    PYTHONPATH=$PWD .venv/bin/python loadtest/lean_read.py

Two steps of a vote's path, each the best of five runs, in µs a message: reading one masked
text frame (wsproto's parser, or `simple_text`), and making the Socket.IO EVENT of its text and
its ack's frame (python-engineio's and python-socketio's packets, or `Shortcut.read` and
`Shortcut.ack`). Both ways' ack frames are checked to be the same bytes first. Left out: what
sits between the steps on the libraries' way (the task per message, their dispatch) and the
handler itself, which is the same on both ways.
"""

from __future__ import annotations

import json
import os
import sys
import timeit
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: the checkout's packages
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet
from wsproto.frame_protocol import FrameProtocol

from townhall import wire_json
from townhall.transport.lean_events import Shortcut
from townhall.transport.lean_frames import idle, simple_text

MESSAGE = "4217" + json.dumps(["vote", {"poll": "vote", "choices": ["b"], "op": "k3j2h4g5"}])
ACK = {"ok": True, "poll": "vote", "choices": ["b"], "version": 12345, "duplicate": False}


class OneConnection:
    """python-socketio's client manager, as far as the short way asks it: one connected sid."""

    def sid_from_eio_sid(self, eio_sid: str, namespace: str) -> str:
        return "sid"

    def is_connected(self, sid: str, namespace: str) -> bool:
        return True


def masked(text: str) -> bytes:
    payload = text.encode()
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes((0x81, 0x80 | len(payload))) + key + body


def main() -> None:
    sio = socketio.AsyncServer(async_mode="asgi", json=wire_json)
    sio.manager = OneConnection()
    sio.register_namespace(socketio.AsyncNamespace("/"))
    shortcut = Shortcut(sio)
    frames = FrameProtocol(client=False, extensions=[])
    frame = masked(MESSAGE)

    def wsproto_frame() -> Any:
        frames.receive_bytes(frame)
        return [f.payload for f in frames.received_frames()]

    def lean_frame() -> Any:
        return idle(frames) and simple_text(frame, 0)

    def library_packets() -> Any:
        message = eio_packet.Packet(encoded_packet=MESSAGE)
        event = sio_packet.Packet(encoded_packet=message.data)
        ack = sio_packet.Packet(sio_packet.ACK, namespace="/", id=event.id, data=[ACK])
        return frames.send_data(eio_packet.Packet(eio_packet.MESSAGE, data=ack.encode()).encode())

    def short_packets() -> Any:
        event = shortcut.read("eio-sid", MESSAGE)
        assert event is not None
        return shortcut.ack(event, ACK)

    assert wsproto_frame() == [MESSAGE] and lean_frame() == (MESSAGE, len(frame))
    assert bytes(library_packets()) == short_packets()
    runs = 100_000
    for name, step in (
        ("a frame read, wsproto", wsproto_frame),
        ("a frame read, lean_frames", lean_frame),
        ("event read + ack framed, the libraries", library_packets),
        ("event read + ack framed, the short way", short_packets),
    ):
        best = min(timeit.repeat(step, number=runs, repeat=5)) / runs * 1e6
        print(f"{name:42s} {best:6.2f} µs")


if __name__ == "__main__":
    main()
