"""A broadcast to a large room is written a slice at a time, the event loop let run in between
(so a hall's tally does not hold up the votes arriving meanwhile); every member still gets it
exactly once, one that leaves part-way is skipped, and no one joins that room until it is done."""

from __future__ import annotations

import asyncio

from townhall.model.commands import Role
from townhall.transport.fanout import SLICE, Fanout, Message, Pipe

ROOM = Role.PARTICIPANT


class Socket:
    """A connection's socket as the fanout sees it, keeping what is written to it."""

    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name
        self.frames: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.frames.append(data)
        self.log.append(self.name)

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0


def hall(fanout: Fanout, count: int, log: list[str]) -> dict[str, Socket]:
    sockets = {f"p{i}": Socket(log, f"p{i}") for i in range(count)}
    for sid, sock in sockets.items():
        fanout.join(sid, ROOM, Pipe(sock), lambda: True)
    fanout.admit()
    assert len(fanout.admit()) == count  # each connect reply seen out twice: all in the room
    return sockets


async def test_the_loop_runs_between_slices_and_everyone_is_written_once() -> None:
    fanout, log = Fanout(), list[str]()
    count = 3 * SLICE + 7
    sockets = hall(fanout, count, log)
    seen: list[int] = []  # how many had been written each time another task ran

    async def a_vote_arriving() -> None:
        while len(log) < count:
            seen.append(len(log))
            await asyncio.sleep(0)

    other = asyncio.create_task(a_vote_arriving())
    await asyncio.sleep(0)  # it runs once before the broadcast
    message = Message("tally", {"v": 1})
    await fanout.send(ROOM, "tally", message)
    await other
    assert [n for n in seen if 0 < n < count] == [SLICE, 2 * SLICE, 3 * SLICE]
    assert all(sock.frames == [message.frame] for sock in sockets.values())


async def test_a_small_room_is_written_without_letting_the_loop_run() -> None:
    fanout, log = Fanout(), list[str]()
    hall(fanout, SLICE, log)
    ran: list[int] = []

    async def another_task() -> None:
        ran.append(len(log))

    task = asyncio.create_task(another_task())
    await fanout.send(ROOM, "tally", Message("tally", {"v": 1}))
    await task
    assert ran == [SLICE]  # it was ready before the broadcast and ran only after all of it
    assert len(log) == SLICE


async def test_one_that_leaves_part_way_is_not_written_and_the_rest_are() -> None:
    fanout, log = Fanout(), list[str]()
    count = 2 * SLICE
    sockets = hall(fanout, count, log)
    last = f"p{count - 1}"

    async def leave_part_way() -> None:
        sockets[last].closing = True  # its connection went while the first slice was written
        fanout.leave(last)

    leaving = asyncio.create_task(leave_part_way())
    await fanout.send(ROOM, "tally", Message("tally", {"v": 1}))
    await leaving
    assert sockets[last].frames == []
    assert len(log) == count - 1
    assert last not in fanout.members[ROOM]


async def test_no_one_joins_a_room_while_a_broadcast_is_part_way_through_it() -> None:
    fanout, log = Fanout(), list[str]()
    hall(fanout, 2 * SLICE, log)
    newcomer, projector = Socket(log, "new"), Socket(log, "screen")
    fanout.join("new", ROOM, Pipe(newcomer), lambda: True)
    fanout.join("screen", Role.SCREEN, Pipe(projector), lambda: True)
    admitted: list[list[tuple[str, object]]] = []

    async def admit_part_way() -> None:
        admitted.append(fanout.admit())  # as the next tick, or another forum's, would
        admitted.append(fanout.admit())

    admitting = asyncio.create_task(admit_part_way())
    await fanout.send(ROOM, "tally", Message("tally", {"v": 1}))
    await admitting
    # The projector's room is not being sent to: it joins; the phone waits for the hall's send.
    assert admitted == [[], [("screen", Role.SCREEN)]]
    assert fanout.joining == 1 and newcomer.frames == []
    # Once the broadcast is done the phone joins, its reply having been seen out twice already.
    assert fanout.admit() == [("new", ROOM)]
