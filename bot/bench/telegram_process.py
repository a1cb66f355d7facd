"""The fake Bot API in its own process, with the simulated patients beside it, so neither's CPU
is the bot's: `python -m bot.bench.telegram_process --leyr URL --patients N` serves
`FakeBotServer` on a free loopback port (printing "listening on URL") and, under `/_bench/`,
the controls the benchmark drives it with: the round-trip time of every Bot API call, runs of
patients, reference texts and a flood, each answered with what the patients felt (`Timings`),
and `take`, which hands out the updates of a run whose updates go straight on the bot's queue.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from bot.bench.child import Control, child
from bot.bench.fake_bot_api import TOKEN, FakeBotApi, FakeBotServer
from bot.bench.loopback import loopback_listener
from bot.bench.patients import identities
from bot.bench.simulator import Simulator

RUN_SECONDS = 3600.0
TAKE_WAIT_SECONDS = 1.0
"""How long `/_bench/take` waits for an update before it answers with none."""
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def build_app(leyr_url: str, patients: int) -> Starlette:
    api = FakeBotApi(TOKEN, record=False)
    server = FakeBotServer(api)
    simulator = Simulator(api, leyr_url, identities(patients), lambda: server.round_trip)

    async def round_trip(request: Request) -> JSONResponse:
        server.round_trip = float((await request.json())["ms"]) / 1000
        return JSONResponse({"ok": True})

    async def patients_run(request: Request) -> JSONResponse:
        body = await request.json()
        api.straight = bool(body.get("straight", False))
        try:
            timings = await simulator.patients(
                int(body["first_chat"]),
                int(body["first_index"]),
                int(body["count"]),
                rate=float(body.get("rate", 0)),
                bulk_every=int(body.get("bulk_every", 0)),
                settle=float(body.get("settle", 0)),
                sequential=bool(body.get("sequential", False)),
            )
        finally:
            api.straight = False
        return JSONResponse(timings.as_json())

    made = asyncio.Event()
    api.update_listeners.append(made.set)

    async def take(request: Request) -> JSONResponse:
        """The updates made for a run straight on the queue; waits a while for one."""
        made.clear()
        taken = api.take()
        if not taken:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(made.wait(), TAKE_WAIT_SECONDS)
            taken = api.take()
        return JSONResponse(taken)

    async def texts(request: Request) -> JSONResponse:
        body = await request.json()
        timings = await simulator.texts(
            list(body["chats"]), int(body["steps"]), settle=float(body["settle"])
        )
        return JSONResponse(timings.as_json())

    async def flood(request: Request) -> JSONResponse:
        body = await request.json()
        timings = await simulator.flood(
            int(body["flooder"]),
            int(body["messages"]),
            int(body["first_other"]),
            int(body["others"]),
            rate=float(body["rate"]),
        )
        return JSONResponse(timings.as_json())

    async def counts(request: Request) -> JSONResponse:
        return JSONResponse(dict(api.counts))

    return Starlette(
        routes=[
            Route("/_bench/round-trip", round_trip, methods=["PUT"]),
            Route("/_bench/patients", patients_run, methods=["POST"]),
            Route("/_bench/texts", texts, methods=["POST"]),
            Route("/_bench/flood", flood, methods=["POST"]),
            Route("/_bench/counts", counts, methods=["GET"]),
            Route("/_bench/take", take, methods=["GET"]),
            Mount("/", server.app),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.bench.telegram_process")
    parser.add_argument("--leyr", required=True, help="the Leyr emulator's base URL")
    parser.add_argument("--patients", type=int, default=0)
    args = parser.parse_args(argv)
    listener = loopback_listener(backlog=1024)
    port = listener.getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    config = uvicorn.Config(
        build_app(args.leyr, args.patients),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=75,
    )
    uvicorn.Server(config).run(sockets=[listener])
    return 0


class TelegramControl(Control):
    """The fake Bot API's base URL and the benchmark's controls."""

    CONTROLS = "/_bench"

    async def set_round_trip(self, ms: int) -> None:
        await self._call("PUT", "round-trip", json={"ms": ms})

    async def patients(self, **run: Any) -> dict[str, Any]:
        answer: dict[str, Any] = await self._call("POST", "patients", json=run)
        return answer

    async def texts(self, chats: list[int], steps: int, settle: float) -> dict[str, Any]:
        answer: dict[str, Any] = await self._call(
            "POST", "texts", json={"chats": chats, "steps": steps, "settle": settle}
        )
        return answer

    async def flood(self, **run: Any) -> dict[str, Any]:
        answer: dict[str, Any] = await self._call("POST", "flood", json=run)
        return answer

    async def counts(self) -> dict[str, int]:
        answer: dict[str, int] = await self._call("GET", "counts")
        return answer

    async def take(self) -> list[dict[str, Any]]:
        """The updates of a run straight on the queue made since the last call (waits up to
        `TAKE_WAIT_SECONDS` for one)."""
        answer: list[dict[str, Any]] = await self._call("GET", "take")
        return answer


@contextlib.asynccontextmanager
async def telegram_process(leyr_url: str, patients: int) -> AsyncIterator[TelegramControl]:
    """The fake Bot API and the simulated patients in their own process, stopped on exit."""
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    argv = [sys.executable, "-m", "bot.bench.telegram_process"]
    argv += ["--leyr", leyr_url, "--patients", str(patients)]
    async with (
        child(argv, env, LISTENING, "the fake Bot API") as (base_url, process),
        httpx.AsyncClient(base_url=base_url, timeout=RUN_SECONDS) as http,
    ):
        yield TelegramControl(base_url, process, http)


if __name__ == "__main__":
    sys.exit(main())
