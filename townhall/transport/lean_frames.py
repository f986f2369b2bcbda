"""The lean WebSocket's frames: the common one read here, every other one by wsproto.

A phone's message is almost always one small text frame, whole, masked, unfragmented. wsproto
reads each frame through a generator, a buffer it copies into, a header object and an
incremental UTF-8 decoder; here such a frame is read with a few slices and one XOR, when wsproto
holds nothing of an earlier frame or message (`idle`). Anything else (a control frame, a
fragment, binary, a frame cut across reads, anything wsproto would refuse) is left to wsproto
from that byte on, so it serves or refuses it exactly as before.

This module reads wsproto's private parser state (`FrameProtocol._frame_decoder`, its `buffer`
and `header`, `_message_decoder.opcode`, `_parse_more`); tests/test_library_drift.py names each.
"""

from __future__ import annotations

import contextlib

from wsproto.frame_protocol import FrameProtocol

TEXT_FIN = 0x81  # FIN, no extension bits, TEXT
MASKED = 0x80


def idle(frames: FrameProtocol) -> bool:
    """Whether wsproto holds nothing of a frame or a fragmented message: the next byte starts
    a frame, and a frame read here leaves it as it was."""
    decoder = frames._frame_decoder
    return (
        decoder.header is None
        and not len(decoder.buffer)
        and frames._message_decoder.opcode is None
    )


def simple_text(data: bytes, start: int) -> tuple[str, int] | None:
    """The text of the frame at `data[start:]` and where the next one starts, if it is a whole,
    masked, unfragmented text frame of valid UTF-8 shorter than 64 KiB; else None."""
    end = len(data)
    if end - start < 6 or data[start] != TEXT_FIN or not data[start + 1] & MASKED:
        return None
    length = data[start + 1] & 0x7F
    at = start + 2
    if length == 126:
        length = int.from_bytes(data[at : at + 2], "big")
        at += 2
        if length < 126:  # a length in two bytes that fits in one: wsproto refuses it
            return None
    elif length == 127:
        return None
    stop = at + 4 + length
    if stop > end:
        return None  # cut across reads: wsproto keeps the part until the rest arrives
    mask = data[at : at + 4]
    masked = int.from_bytes(data[at + 4 : stop], "big")
    key = int.from_bytes((mask * (length // 4 + 1))[:length], "big")
    try:
        text = (masked ^ key).to_bytes(length, "big").decode()
    except UnicodeDecodeError:  # wsproto closes with 1007
        return None
    return text, stop


def end_parser(frames: FrameProtocol | None) -> None:
    """Stop wsproto's frame parser once its connection is lost: a generator its FrameProtocol
    keeps, whose frame refers back to the FrameProtocol. That reference cycle (the parser and its
    buffers, about 1.5 KB) would outlive every closed WebSocket, lean or stock, until a full
    collection, which `townhall.collector` runs only when the forum is quiet."""
    parser = getattr(frames, "_parse_more", None)
    if parser is not None:
        with contextlib.suppress(ValueError):  # already running: it is ending the connection
            parser.close()


def text_frame(payload: bytes) -> bytes:
    """`payload` in one unmasked WebSocket text frame, as a server sends it."""
    size = len(payload)
    if size < 126:
        header = bytes((TEXT_FIN, size))
    elif size < 1 << 16:
        header = bytes((TEXT_FIN, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((TEXT_FIN, 127)) + size.to_bytes(8, "big")
    return header + payload
