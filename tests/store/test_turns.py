"""Turns at SQLite's one writer: one at a time, in arrival order, the urgent first; a waiter
cancelled before or as its turn comes never blocks the others."""

from __future__ import annotations

import asyncio

import pytest

from bot.store.turns import WriterTurns


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_one_at_a_time_in_order_the_urgent_first() -> None:
    turns = WriterTurns()
    order: list[str] = []
    inside = 0
    release = asyncio.Event()

    async def write(name: str, urgent: bool = False) -> None:
        nonlocal inside
        async with turns.turn(urgent=urgent):
            inside += 1
            assert inside == 1
            order.append(name)
            if name == "first":
                await release.wait()
            await asyncio.sleep(0)
            inside -= 1

    first = asyncio.create_task(write("first"))
    await settle()
    waiting = [asyncio.create_task(write(name)) for name in ("a", "b", "c")]
    await settle()
    batch = asyncio.create_task(write("inbox", urgent=True))
    await settle()
    release.set()
    await asyncio.gather(first, batch, *waiting)
    assert order == ["first", "inbox", "a", "b", "c"]


async def test_cancelled_waiters_never_block_the_others() -> None:
    turns = WriterTurns()
    done: list[str] = []
    release = asyncio.Event()

    async def holder() -> None:
        async with turns.turn():
            await release.wait()

    async def write(name: str) -> None:
        async with turns.turn():
            done.append(name)

    held = asyncio.create_task(holder())
    await settle()
    gone = asyncio.create_task(write("gone"))
    late = asyncio.create_task(write("late"))
    after = asyncio.create_task(write("after"))
    await settle()
    gone.cancel()  # before its turn
    await settle()
    release.set()
    await asyncio.sleep(0)  # the holder leaves: the turn is handed to "late"...
    late.cancel()  # ...which is cancelled before it could take it: it passes the turn on
    async with asyncio.timeout(5):
        await asyncio.gather(held, after)
    for task in (gone, late):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert done == ["after"]
    async with asyncio.timeout(1):
        async with turns.turn():  # free again
            pass
