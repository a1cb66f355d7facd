"""The lanes behind the Leyr client: small pools, a bounded total, and no slot ever lost."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from bot.lanes import LaneTransport

URL = "https://leyr.test/emrs"


class Lanes:
    """A LaneTransport whose lanes answer in-process, each call held until released."""

    def __init__(self, lanes: int = 4, per_lane: int = 2, hold: bool = False) -> None:
        self.transport = LaneTransport(lanes=lanes, per_lane=per_lane)
        self.served: Counter[int] = Counter()
        self.inside: Counter[int] = Counter()
        self.most: Counter[int] = Counter()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()
        self.fail: type[Exception] | None = None
        for index, lane in enumerate(self.transport.lanes):
            lane.handle_async_request = self._answer(index)  # type: ignore[method-assign, assignment]

    def _answer(self, index: int) -> Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]:
        async def answer(request: httpx.Request) -> httpx.Response:
            self.served[index] += 1
            self.inside[index] += 1
            self.most[index] = max(self.most[index], self.inside[index])
            try:
                await self.release.wait()
                if self.fail is not None:
                    raise self.fail("refused")
            finally:
                self.inside[index] -= 1
            return httpx.Response(200, json={"ok": True})

        return answer

    def client(self, pool_timeout: float | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.transport, timeout=httpx.Timeout(5.0, pool=pool_timeout)
        )


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_quiet_bot_keeps_to_one_lane() -> None:
    lanes = Lanes()
    async with lanes.client() as http:
        for _ in range(10):
            assert (await http.get(URL)).json() == {"ok": True}
    assert len(lanes.served) == 1 and sum(lanes.served.values()) == 10
    assert lanes.transport.free == 8


async def test_a_burst_spreads_over_every_lane_and_no_lane_takes_more_than_its_share() -> None:
    lanes = Lanes(lanes=4, per_lane=2, hold=True)
    async with lanes.client() as http:
        calls = [asyncio.create_task(http.get(URL)) for _ in range(11)]
        await settle()
        assert sum(lanes.inside.values()) == 8 and lanes.transport.free == 0
        assert set(lanes.inside.values()) == {2}  # three calls wait outside every pool
        lanes.release.set()
        answers = await asyncio.gather(*calls)
    assert [a.status_code for a in answers] == [200] * 11
    assert max(lanes.most.values()) == 2 and len(lanes.most) == 4
    assert lanes.transport.free == 8


async def test_no_free_slot_within_the_pool_timeout_is_httpx_pool_timeout() -> None:
    lanes = Lanes(lanes=1, per_lane=1, hold=True)
    async with lanes.client(pool_timeout=0.01) as http:
        busy = asyncio.create_task(http.get(URL))
        await settle()
        with pytest.raises(httpx.PoolTimeout):
            await http.get(URL)
        assert lanes.served[0] == 1  # the late call never reached a lane
        lanes.release.set()
        await busy
    assert lanes.transport.free == 1


async def test_a_failed_call_gives_its_slot_back() -> None:
    lanes = Lanes(lanes=2, per_lane=1)
    lanes.fail = httpx.ReadError
    async with lanes.client() as http:
        for _ in range(3):
            with pytest.raises(httpx.ReadError):
                await http.get(URL)
    assert lanes.transport.free == 2


async def test_a_cancelled_call_gives_its_slot_back_whether_running_or_waiting() -> None:
    lanes = Lanes(lanes=1, per_lane=1, hold=True)
    async with lanes.client() as http:
        running = asyncio.create_task(http.get(URL))
        waiting = asyncio.create_task(http.get(URL))
        await settle()
        waiting.cancel()
        running.cancel()
        for task in (running, waiting):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert lanes.transport.free == 1
        lanes.release.set()
        assert (await http.get(URL)).status_code == 200
    assert lanes.transport.free == 1


async def test_a_streamed_answer_holds_its_slot_until_closed_and_frees_it_once() -> None:
    lanes = Lanes(lanes=1, per_lane=2)
    async with lanes.client() as http:
        async with http.stream("GET", URL) as response:
            assert lanes.transport.free == 1
            await response.aread()
            await response.aclose()
        assert lanes.transport.free == 2


async def test_closing_closes_every_lane() -> None:
    transport = LaneTransport(lanes=3, per_lane=2)
    closed: list[int] = []
    for index, lane in enumerate(transport.lanes):

        async def aclose(index: int = index) -> None:
            closed.append(index)

        lane.aclose = aclose  # type: ignore[method-assign]
    async with httpx.AsyncClient(transport=transport):
        pass
    assert closed == [0, 1, 2]
