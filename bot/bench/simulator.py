"""The patients' side of the benchmark, run inside the fake Bot API's own process: simulated
patients make their updates in the fake (the bot fetches them with getUpdates, over HTTP, as
from Telegram) and wait for the bot's answers there, timing what a patient feels:

* first reply: from the moment an update is made to the first sendMessage or editMessageText
  the bot makes for that chat after it;
* button answer: from a button press to its answerCallbackQuery, less one Bot API round trip
  (the press's way to the bot and the answer's way back: the network's share, not the bot's);
  it still holds the time the press waited at Telegram for the bot's next getUpdates;
* the bot's own part of it: from the getUpdates answer that carried the press to its
  answerCallbackQuery (both stamped in this process, the round trip taken off).

Arrivals are all at once, or open-loop at a given rate (exponential gaps: a Poisson process),
each patient stepping through its flow as fast as the bot answers. In a sequential pass
(`settle` > 0) each update also waits until the chat's calls have gone quiet for `settle`
seconds, so the Bot API calls counted for an update are exactly its own.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.bench.fake_bot_api import Chat, FakeBotApi
from bot.bench.patients import Identity, Patient, PatientFailed

ANSWER_SECONDS = 60.0
"""How long a patient waits for an answer before giving up (the step is then failed)."""


@dataclass
class Timings:
    """What one run's patients felt, in milliseconds."""

    first_reply: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    button: list[float] = field(default_factory=list)
    button_bot: list[float] = field(default_factory=list)
    """The bot's own part of each button answer: from the getUpdates answer that carried the
    press to its answerCallbackQuery (the time the press waited for a poll at Telegram, and
    the network both ways, left out)."""
    steps: list[str] = field(default_factory=list)
    """The steps in the order they were sent (one per update)."""
    calls: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    """Bot API calls per update, by step (exact in sequential passes only)."""
    failed: Counter[str] = field(default_factory=Counter)
    others: list[float] = field(default_factory=list)
    """First replies of the bystander patients during a flood."""

    def as_json(self) -> dict[str, Any]:
        return {
            "first_reply": dict(self.first_reply),
            "button": self.button,
            "button_bot": self.button_bot,
            "steps": self.steps,
            "calls": dict(self.calls),
            "failed": dict(self.failed),
            "others": self.others,
        }


class Simulator:
    def __init__(
        self,
        api: FakeBotApi,
        leyr_url: str,
        people: list[Identity],
        round_trip: Callable[[], float] = lambda: 0.0,
    ) -> None:
        """`round_trip()`: the Bot API's round-trip time now, in seconds."""
        self._api = api
        self._round_trip = round_trip
        self._leyr_url = leyr_url
        self._people = people

    async def _codes(self, http: httpx.AsyncClient, phone: str) -> list[str]:
        response = await http.get("/_sandbox/outbox", params={"phone": phone})
        response.raise_for_status()
        return [str(sms["code"]) for sms in response.json()]

    def _sender(self, timings: Timings, settle: float) -> Callable[..., Any]:
        api = self._api

        async def send(update: dict[str, Any], step: str, expect: Callable[[Chat], bool]) -> None:
            made = time.monotonic()
            chat_id = _chat_of(update)
            chat = api.chat(chat_id)
            replies, calls = len(chat.replies), chat.calls
            timings.steps.append(step)
            query = update.get("callback_query", {}).get("id")
            changed = api.watch(chat_id)
            deadline = made + ANSWER_SECONDS
            while not (len(chat.replies) > replies and expect(chat)):
                await _wait(changed, deadline, step)
            timings.first_reply[step].append((chat.replies[replies] - made) * 1000)
            if query is not None:
                while query not in api.answered_at:
                    await _wait(changed, deadline, step)
                # The network's share: the press's flight to the bot (with the getUpdates answer
                # that carried it) and the answer's back; taken straight, the press has none.
                network = self._round_trip() / (2 if api.straight else 1)
                answered = api.answered_at[query] - network
                timings.button.append((answered - made) * 1000)
                timings.button_bot.append((answered - api.handed_at[query]) * 1000)
            if settle:
                while True:
                    changed.clear()
                    try:
                        await asyncio.wait_for(changed.wait(), settle)
                    except TimeoutError:
                        break
                timings.calls[step].append(chat.calls - calls)

        return send

    async def patients(
        self,
        first_chat: int,
        first_index: int,
        count: int,
        *,
        rate: float = 0.0,
        bulk_every: int = 0,
        settle: float = 0.0,
        sequential: bool = False,
    ) -> Timings:
        """`count` patients (identities from `first_index` on) in chats from `first_chat` on."""
        timings = Timings()
        send = self._sender(timings, settle)
        headers = {"x-leyr-client-id": "sandbox-client", "x-leyr-client-secret": "sandbox-secret"}
        async with httpx.AsyncClient(base_url=self._leyr_url, headers=headers, timeout=30) as http:

            async def codes(phone: str) -> list[str]:
                return await self._codes(http, phone)

            async def one(index: int, delay: float) -> None:
                if delay:
                    await asyncio.sleep(delay)
                bulk = bulk_every > 0 and index % bulk_every == bulk_every - 1
                patient = Patient(
                    first_chat + index, self._people[first_index + index], self._api, bulk=bulk
                )
                try:
                    await patient.visit(send, codes)
                except PatientFailed as failed:
                    timings.failed[failed.step] += 1

            if sequential:
                for index in range(count):
                    await one(index, 0.0)
            else:
                starts = _arrivals(count, rate)
                await asyncio.gather(*(one(i, at) for i, at in enumerate(starts)))
        return timings

    async def texts(self, chats: list[int], steps: int, *, settle: float) -> Timings:
        """Each chat sends `steps` text messages, one chat and one message at a time."""
        timings = Timings()
        send = self._sender(timings, settle)
        for chat_id in chats:
            for step in range(steps):
                await send(self._api.user_text(chat_id, f"ref {step}"), "text", _any)
            self._api.forget(chat_id)
        return timings

    async def flood(
        self, flooder: int, messages: int, first_other: int, others: int, *, rate: float
    ) -> Timings:
        """One chat sends `messages` /start at once; meanwhile `others` chats send /help at
        `rate` per second: their first replies are the figure."""
        timings = Timings()
        api = self._api
        for _ in range(messages):
            api.user_text(flooder, "/start")

        async def bystander(chat_id: int, delay: float) -> None:
            await asyncio.sleep(delay)
            made = time.monotonic()
            chat = api.chat(chat_id)
            replies = len(chat.replies)
            api.user_text(chat_id, "/help")
            changed = api.watch(chat_id)
            deadline = made + ANSWER_SECONDS
            try:
                while len(chat.replies) <= replies:
                    await _wait(changed, deadline, "help")
            except PatientFailed:
                timings.failed["help"] += 1
                return
            timings.others.append((chat.replies[replies] - made) * 1000)
            api.forget(chat_id)

        starts = _arrivals(others, rate)
        await asyncio.gather(*(bystander(first_other + i, at) for i, at in enumerate(starts)))
        flooded = api.chat(flooder)
        timings.calls["flood"].append(flooded.calls)
        api.forget(flooder)
        return timings


def _any(chat: Chat) -> bool:
    return True


def _chat_of(update: dict[str, Any]) -> int:
    if "callback_query" in update:
        return int(update["callback_query"]["message"]["chat"]["id"])
    return int(update["message"]["chat"]["id"])


def _arrivals(count: int, rate: float) -> list[float]:
    """Start offsets in seconds: all 0 (rate 0), else a Poisson process at `rate` per second."""
    if rate <= 0:
        return [0.0] * count
    rng = random.Random(count)  # noqa: S311 - arrival times, not secrets
    at, starts = 0.0, []
    for _ in range(count):
        starts.append(at)
        at += rng.expovariate(rate)
    return starts


async def _wait(changed: asyncio.Event, deadline: float, step: str) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise PatientFailed(step, "no answer in time")
    changed.clear()
    try:
        await asyncio.wait_for(changed.wait(), left)
    except TimeoutError:
        raise PatientFailed(step, "no answer in time") from None
