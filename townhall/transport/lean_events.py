"""The lean WebSocket's short way for the common message: a Socket.IO EVENT on the default
namespace with an ack id, `42<id>["vote",{…}]`, from a connection that has connected it.

python-engineio and python-socketio would make two packet objects of it, look its sender up
twice, call the namespace through three coroutines and make two more packet objects of the ack.
Here the text is read once (townhall.wire_json), the namespace's handler is called as
python-socketio calls it (so every check of the dispatcher and the hub applies as before), and
the ack is framed as the library frames it, `43<id>[ack]` in one text frame. Whatever is not
that case (another namespace, no ack id, a CONNECT or DISCONNECT, binary, anything the decoder
or the rules would refuse, a connection that is closing or not connected) is not taken here: it
goes the library's way, which serves or refuses it as before.

A handler whose engine says it may (`runs_inline`: the embedded engine) is run without a task of
its own, by `drive`: from the socket's read callback to its first wait, and on from there when
what it waits for is done. A vote's ack thus goes out when its batch's journal write returns,
from that write's own callbacks.

This module reads python-socketio's server (`handlers`, `namespace_handlers`, `not_handled`,
its manager); tests/test_library_drift.py names each.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from townhall import wire_json
from townhall.transport.lean_frames import text_frame

if TYPE_CHECKING:
    from townhall.transport.lean_socket import LeanSocket

NAMESPACE = "/"
# `42`, an ack id of at most 15 digits (python-socketio's own rule is 100), then the arguments'
# array. The id is digits only: str.isdigit would take other scripts' digits, which int() reads.
_EVENT = re.compile(r"42([0-9]{1,15})\[")

Done = Callable[[Any, BaseException | None], None]


class ShortEvent:
    """One message taken the short way: the namespace handler it goes to, its sender's
    Socket.IO sid, ack id, arguments (the event name first) and size in UTF-8 bytes as sent,
    without the Engine.IO type."""

    __slots__ = ("ack_id", "args", "namespace", "sid", "size")

    def __init__(self, namespace: Any, sid: str, ack_id: int, args: list[Any], size: int) -> None:
        self.namespace = namespace
        self.sid = sid
        self.ack_id = ack_id
        self.args = args
        self.size = size


class Shortcut:
    """Reads the common message and calls its handler; frames its ack."""

    def __init__(self, sio: Any, inline: Callable[[str], bool] | None = None) -> None:
        self.sio = sio
        # Whether a connection's handler may run outside a task; see `drive`.
        self.inline = inline or _never

    def read(self, eio_sid: str, text: str) -> ShortEvent | None:
        """`text` (an Engine.IO message, `4…`) as a short event, or None: the library's way."""
        found = _EVENT.match(text)
        if found is None:
            return None
        sio = self.sio
        # Handlers registered on the library itself (none in Townhall) come first there.
        namespace = sio.namespace_handlers.get(NAMESPACE)
        if namespace is None or sio.handlers:
            return None
        try:
            args = wire_json.loads(text[found.end() - 1 :])
        except Exception:  # whatever the decoder trips on (too deep, say): the library's way
            return None  # refuses it too, and says so
        if not isinstance(args, list) or not args:
            return None
        manager = sio.manager
        sid = manager.sid_from_eio_sid(eio_sid, NAMESPACE)
        if sid is None or not manager.is_connected(sid, NAMESPACE):
            return None
        # As SocketIOServer measures it: the Socket.IO packet, without Engine.IO's `4`.
        size = len(text) - 1 if text.isascii() else len(text.encode("utf-8", "surrogatepass")) - 1
        return ShortEvent(namespace, sid, int(found.group(1)), args, size)

    def call(self, event: ShortEvent) -> Coroutine[Any, Any, Any]:
        """The handler's coroutine: the namespace's `trigger_event`, called as python-socketio
        calls it for this message when no handler of its own comes first."""
        self.sio.message_size = event.size  # the hub reads it before its first wait
        args = event.args
        return event.namespace.trigger_event(args[0], event.sid, *args[1:])  # type: ignore[no-any-return]

    def answer(
        self, socket: LeanSocket, event: ShortEvent, returned: Any, error: BaseException | None
    ) -> bytes | None:
        """The ack frame for what the handler returned, as python-socketio encodes it; None if
        the library would send none: no ack, or the handler (or the ack's JSON) failed, which is
        logged as a bug, as on the library's way."""
        if error is None:
            try:
                return self.ack(event, returned)
            except Exception as exc:
                error = exc
        if not isinstance(error, asyncio.CancelledError):
            socket.failed(error)
        return None

    def ack(self, event: ShortEvent, returned: Any) -> bytes | None:
        if returned is self.sio.not_handled:
            return None
        if returned is None:
            data = []
        else:
            data = list(returned) if isinstance(returned, tuple) else [returned]
        text = "43" + str(event.ack_id) + wire_json.dumps(data, separators=wire_json.COMPACT)
        return text_frame(text.encode())  # strict, as wsproto encodes the library's


def _never(sid: str) -> bool:
    return False


def drive(coroutine: Coroutine[Any, Any, Any], done: Done) -> None:
    """Run `coroutine` without a task: at once, to its first wait, then on from each wait when
    what it waits for is done, in a context of its own as a task would be; `done` is told its
    result or exception. Only for code that never asks for its task (asyncio.timeout and
    TaskGroup do): the engine says whether its handlers are such code."""
    context = contextvars.copy_context()
    context.run(_step, coroutine, done, context, None)


def _step(
    coroutine: Coroutine[Any, Any, Any],
    done: Done,
    context: contextvars.Context,
    error: BaseException | None,
    _waited: Any = None,
) -> None:
    try:
        # In `context`: the first step is run in it, the others are callbacks registered in it.
        waits_on = coroutine.send(None) if error is None else coroutine.throw(error)
    except StopIteration as stop:
        done(stop.value, None)
        return
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        done(None, exc)
        return
    resume = functools.partial(_step, coroutine, done, context, None)
    if getattr(waits_on, "_asyncio_future_blocking", False):
        # What a task does with a future its coroutine waits on: clear the flag, resume on done.
        waits_on._asyncio_future_blocking = False
        waits_on.add_done_callback(resume, context=context)
    elif waits_on is None:  # a bare yield (asyncio.sleep(0)): on again in the next turn
        asyncio.get_running_loop().call_soon(resume, context=context)
    else:
        problem = RuntimeError(f"a handler run inline waited on {waits_on!r}")
        asyncio.get_running_loop().call_soon(
            functools.partial(_step, coroutine, done, context, problem), context=context
        )
