"""The benchmark: simulated patients through the real service, timed as the patients feel it.

Set-up, three processes. The Leyr emulator, with the chosen latency per call; the fake Bot API
with the simulated patients beside it (`bot.bench.telegram_process`), with the chosen round-trip
time per Bot API call; and, in this process, the bot as `python -m bot run` runs it: the runtime
(storage, engine, Leyr client over loopback HTTP, chats not sandbox), the `Application` with its
`ChatOrderedProcessor`, the adapter's handlers and the `InboxPoller`, which fetches the updates
with getUpdates over HTTP. Only Telegram's 30 calls/s broadcast limit is lifted (the fake has
none). Echo and floor reference handlers sit on the same application, reached the same way.

Runs, in this order (the EHR's data is reset before each):
1. warm-up: a few patients, echo and floor texts;
2. sequential passes at 0 ms (Leyr and Telegram), one update at a time, each waiting until its
   chat's calls went quiet: `sample` patients, then as many texts to the echo and to the floor
   handler. The CPU of an update is this process's CPU (every thread) from the previous update's
   end to its own: polling, parsing, handling and replying, as the same path costs each of
   them; also each update's Bot API calls and the Leyr round trips on one patient's path;
3. at the chosen latencies: `patients` patients all at once; the same again with each update
   put straight on the application's queue as it is made (taken from the fake by a task of
   the benchmark's, over HTTP as getUpdates would be, so what differs is the poller's own work:
   its inbox, offsets and admission); then arriving at `rate` per second (open loop, Poisson).
   Each gives the first-reply times (p50/p95/p99, and per step), the button-answer times, the
   mean CPU per update (this process's CPU over the run / updates), updates per second and the
   Leyr and Bot API calls;
4. the capacity knee, when rates are given: `knee_seconds` of arrivals at each rate, rising,
   until the first-reply p99 passes 2 x Leyr latency + 100 ms;
5. a flood, when asked: one chat sends `flood` /start at once while others ask /help at 5 per
   second: their first-reply times.

Memory. Peak RSS is the process's high-water mark; growth is RSS after the last patient run
minus RSS after the runs of every patient at once (or after the first run, without them; both
after a garbage collection), scaled to 10,000 patients. The bursts run first: they take the
process to its high-water (up to one Bot API connection per lane, some 8 MB for 256, which
Python's allocator keeps after they close; the run straight on the queue warms up its own
path), so the growth after them is what patients leave behind, not the one-off cost of the
busiest moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import os
import resource
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import psutil
from sqlalchemy import delete
from sqlalchemy.engine import make_url
from telegram import Update

from bot.bench.fake_bot_api import TOKEN
from bot.bench.gc_pauses import gc_pauses
from bot.bench.leyr_process import LeyrControl, leyr_process
from bot.bench.reference import ReferenceHandlers
from bot.bench.report import ALL_AT_ONCE, STRAIGHT, FloodFigures, Report, Run, Spread
from bot.bench.telegram_process import TelegramControl, telegram_process
from bot.runtime import Runtime
from bot.sandbox.seed import synthetic_patients
from bot.settings import (
    SANDBOX_CARE_UNIT,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_EMR,
    Settings,
    load_settings,
)
from bot.store.tables import CancellationAudit, ChatLink, ChatState
from bot.telegram.handlers import AnyApplication
from bot.telegram.ordering import DEFAULT_CONCURRENCY
from bot.telegram.service import Service, serve, telegram_api_url, telegram_token

log = logging.getLogger(__name__)

CHAT_SPAN = 10**9
"""Chat ids of one benchmark: patients, then echo chats, then floor chats, each this many."""
REFERENCE_STEPS = 6
"""Texts per echo or floor chat in the sequential pass (a patient's single flow has six)."""
SETTLE_SECONDS = 0.02
"""In the sequential pass, an update is over once its chat had no Bot API call for this long."""
FLOOD_OTHERS_RATE = 5.0
NAME_OPERATIONS = ("care_units", "resources")
STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class Options:
    patients: int = 2000
    latency_ms: int = 200
    telegram_ms: int = 50
    """Every Bot API call's round-trip time."""
    rate: float = 10.0
    """Patients arriving per second in the open-loop run; 0: no such run."""
    burst: bool = True
    """Also run every patient arriving at once."""
    straight: bool = True
    """After the run of every patient at once, the same again with each update put straight on
    the bot's queue, not fetched by its poller: the poller's share of the CPU."""
    database_url: str | None = None
    """None: a fresh SQLite file in a temporary directory."""
    concurrency: int | None = None
    """Updates at work at once; None: the service's own default (`DEFAULT_CONCURRENCY`)."""
    sample: int = 200
    """Patients in the sequential pass."""
    bulk_every: int = 10
    """Every n-th patient cancels both appointments at once; 0: none does."""
    warmup: int = 20
    knee: tuple[float, ...] = ()
    """Arrival rates (patients per second) to look for the capacity knee at, rising."""
    knee_seconds: float = 20.0
    flood: int = 0
    """/start messages of one flooding chat; 0: no flood."""
    flood_others: int = 30

    def concurrency_for_run(self) -> int:
        return max(1, self.concurrency or DEFAULT_CONCURRENCY)

    def is_bulk(self, index: int) -> bool:
        return self.bulk_every > 0 and index % self.bulk_every == self.bulk_every - 1

    def bulk(self, count: int) -> int:
        return sum(self.is_bulk(i) for i in range(count))


class _ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@dataclass
class Meter:
    """Told when each update's handling ended (the processor's `on_done`): counts them and,
    between two ends, the process's CPU."""

    done: int = 0
    samples: list[float] = field(default_factory=list)
    _last: float = 0.0

    def start(self) -> None:
        self.samples = []
        self._last = time.process_time()

    def finished(self, update: object) -> None:
        if isinstance(update, Update):
            now = time.process_time()
            self.samples.append(now - self._last)
            self._last = now
            self.done += 1


@dataclass
class _Bench:
    options: Options
    leyr: LeyrControl
    telegram: TelegramControl
    meter: Meter
    chats: itertools.count[int]
    application: AnyApplication
    used: int = 0
    """Synthetic patients used so far (each runs its flow once)."""

    async def _at(self, latency_ms: int, telegram_ms: int) -> None:
        await self.leyr.reset()
        await self.leyr.set_latency(latency_ms)
        await self.telegram.set_round_trip(telegram_ms)
        self.used = 0

    def _chats(self, count: int) -> int:
        first = next(self.chats)
        for _ in range(count - 1):
            next(self.chats)
        return first

    async def _feed(self) -> None:
        """Put the updates of a run straight on the bot's queue, as they are made (the poller
        is left with nothing to fetch)."""
        application = self.application
        while True:
            for raw in await self.telegram.take():
                application.update_queue.put_nowait(Update.de_json(raw, application.bot))

    async def patients(
        self,
        name: str,
        count: int,
        rate: float,
        latency_ms: int,
        telegram_ms: int,
        *,
        straight: bool = False,
    ) -> Run:
        await self._at(latency_ms, telegram_ms)
        operations = await self.leyr.operations()
        calls = await self.telegram.counts()
        done = self.meter.done
        gc.collect()
        stolen = _stolen_seconds()
        cpu, started = time.process_time(), time.perf_counter()
        feeding = asyncio.create_task(self._feed()) if straight else None
        try:
            with gc_pauses() as pauses:
                felt = await self.telegram.patients(
                    first_chat=self._chats(count),
                    first_index=0,
                    count=count,
                    rate=rate,
                    bulk_every=self.options.bulk_every,
                    straight=straight,
                )
        finally:
            if feeding is not None:
                feeding.cancel()
                await asyncio.wait({feeding})
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        stolen = _stolen_seconds() - stolen
        after = await self.leyr.operations()
        counted = await self.telegram.counts()
        updates = self.meter.done - done
        failed = felt["failed"]
        bulk = self.options.bulk(count)
        operations = {k: after.get(k, 0) - operations.get(k, 0) for k in after}
        return Run(
            name=name,
            rate=rate,
            latency_ms=latency_ms,
            telegram_ms=telegram_ms,
            patients=count,
            finished=count - sum(failed.values()),
            failed=failed,
            updates=updates,
            wall_seconds=wall,
            updates_per_second=updates / wall if wall else 0.0,
            cpu_ms_per_update=cpu / updates * 1000 if updates else 0.0,
            steal_percent=100 * stolen / (wall * (os.cpu_count() or 1)) if wall else 0.0,
            first_reply=Spread.of_ms(_all(felt["first_reply"])),
            first_reply_by_step={
                step: Spread.of_ms(ms) for step, ms in felt["first_reply"].items()
            },
            button=Spread.of_ms(felt["button"]),
            button_bot=Spread.of_ms(felt["button_bot"]),
            gc_pauses=Spread.of_ms(pauses),
            leyr_operations=operations,
            leyr_at_lower_bound=all(
                operations.get(kind, 0) == expected
                for kind, expected in _lower_bound(count, bulk).items()
            ),
            telegram_calls={k: v - calls.get(k, 0) for k, v in counted.items()},
            straight=straight,
        )

    async def sequential(self, count: int) -> tuple[dict[str, list[float]], dict[str, Any], int]:
        """`count` patients one after the other at 0 ms: CPU seconds per update by step, what
        the patients felt, and the most Leyr round trips on one patient's path."""
        await self._at(0, 0)
        cpu: dict[str, list[float]] = {}
        felt: dict[str, Any] = {"steps": [], "calls": {}}
        round_trips = 0
        for _ in range(count):
            before = await self.leyr.operations()
            self.meter.start()
            one = await self.telegram.patients(
                first_chat=self._chats(1),
                first_index=self.used,
                count=1,
                bulk_every=1 if self.options.is_bulk(self.used) else 0,
                settle=SETTLE_SECONDS,
                sequential=True,
            )
            self.used += 1
            after = await self.leyr.operations()
            round_trips = max(round_trips, sum(after.values()) - sum(before.values()))
            if len(one["steps"]) == len(self.meter.samples):
                for step, seconds in zip(one["steps"], self.meter.samples, strict=True):
                    cpu.setdefault(step, []).append(seconds)
            for step, calls in one["calls"].items():
                felt["calls"].setdefault(step, []).extend(calls)
        return cpu, felt, round_trips

    async def reference(self, chats: range, count: int) -> Spread:
        """`count` chats of REFERENCE_STEPS texts each, one update at a time."""
        await self._at(0, 0)
        samples: list[float] = []
        for chat_id in itertools.islice(chats, count):
            self.meter.start()
            await self.telegram.texts([chat_id], REFERENCE_STEPS, SETTLE_SECONDS)
            samples.extend(self.meter.samples)
        return Spread.of(samples)

    async def knee(self) -> tuple[list[tuple[float, float]], float | None]:
        """(rate, first-reply p99 ms) per rate tried, and the highest rate within the limit."""
        limit = 2 * self.options.latency_ms + 100
        tried: list[tuple[float, float]] = []
        best: float | None = None
        for rate in self.options.knee:
            count = max(1, round(rate * self.options.knee_seconds))
            run = await self.patients(
                f"knee {rate:g}/s",
                count,
                rate,
                self.options.latency_ms,
                self.options.telegram_ms,
            )
            tried.append((rate, run.first_reply.p99))
            if run.first_reply.p99 >= limit or run.finished < run.patients:
                break
            best = rate
        return tried, best

    async def flood(self) -> FloodFigures:
        await self._at(self.options.latency_ms, self.options.telegram_ms)
        others = self.options.flood_others
        felt = await self.telegram.flood(
            flooder=self._chats(1),
            messages=self.options.flood,
            first_other=self._chats(others),
            others=others,
            rate=FLOOD_OTHERS_RATE,
        )
        return FloodFigures(
            messages=self.options.flood,
            others=others,
            answered=len(felt["others"]),
            others_reply=Spread.of_ms(felt["others"]),
            flooder_calls=sum(felt["calls"].get("flood", [])),
        )


def _all(by_step: dict[str, list[float]]) -> list[float]:
    return [ms for values in by_step.values() for ms in values]


def _stolen_seconds() -> float:
    """CPU seconds the hypervisor gave to other machines so far (Linux counts them)."""
    return float(getattr(psutil.cpu_times(), "steal", 0.0))


def _rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def _peak_rss_mb(now_mb: float) -> float:
    """The high-water mark, never below RSS now (the kernel updates it lazily)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max(now_mb, peak / 2**20 if sys.platform == "darwin" else peak / 2**10)


def _database_name(url: str) -> str:
    """The backend only: never the URL (it may hold a password)."""
    backend = make_url(url).get_backend_name()
    return "PostgreSQL" if backend.startswith("postgres") else backend.capitalize()


def _service(settings: Settings, concurrency: int) -> Service:
    """The service as `bot.telegram.service.build_service` makes it, with no overall Bot API
    rate limit (the fake has none)."""
    return Service(
        settings,
        telegram_token(settings),
        telegram_api_url(settings),
        overall_rate=0,
        concurrency=concurrency,
    )


@contextlib.asynccontextmanager
async def _serving(
    service: Service, prepare: Callable[[Runtime, AnyApplication], None], meter: Meter
) -> AsyncIterator[tuple[Runtime, AnyApplication]]:
    """The service running (as `python -m bot run` does) until the block ends."""
    stop = asyncio.Event()
    ready: asyncio.Future[tuple[Runtime, AnyApplication]] = (
        asyncio.get_running_loop().create_future()
    )

    def on_ready(runtime: Runtime, application: AnyApplication) -> None:
        prepare(runtime, application)
        ready.set_result((runtime, application))

    running = asyncio.create_task(serve(service, stop, prepare=on_ready, on_done=meter.finished))
    try:
        async with asyncio.timeout(STARTUP_SECONDS):
            waiting: set[asyncio.Future[Any]] = {running, ready}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()
            raise RuntimeError("the service stopped before it was ready")
        yield ready.result()
    finally:
        stop.set()
        await running


async def run_bench(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    """Run the whole benchmark; `progress` is told what is starting."""
    if options.patients < 1 or options.sample < 1:
        raise ValueError("need at least one patient and a sample of one")
    if options.latency_ms <= 0:
        raise ValueError("the chosen latency must be above 0 ms")
    if options.rate < 0 or options.telegram_ms < 0 or any(r <= 0 for r in options.knee):
        raise ValueError("rates and the Telegram round trip cannot be negative")
    knee_patients = max((round(r * options.knee_seconds) for r in options.knee), default=0)
    pool = max(options.patients, options.sample, options.warmup, knee_patients)
    base = CHAT_SPAN + secrets.randbelow(CHAT_SPAN) * 4
    errors = _ErrorCount()
    logging.getLogger().addHandler(errors)
    meter = Meter()
    concurrency = options.concurrency_for_run()
    echo_chats = range(base + CHAT_SPAN, base + 2 * CHAT_SPAN)
    floor_chats = range(base + 2 * CHAT_SPAN, base + 3 * CHAT_SPAN)
    runs: list[Run] = []
    try:
        async with AsyncExitStack() as stack:
            database_url = options.database_url
            if database_url is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))
                database_url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
            progress(f"starting the Leyr emulator and the fake Bot API with {pool} patients")
            leyr = await stack.enter_async_context(leyr_process(pool))
            telegram = await stack.enter_async_context(telegram_process(leyr.base_url, pool))
            settings = _settings(leyr.base_url, telegram.base_url, database_url)

            def prepare(runtime: Runtime, application: AnyApplication) -> None:
                assert runtime.leyr is not None
                ReferenceHandlers(
                    runtime.store,
                    runtime.leyr,
                    synthetic_patients(1)[0]["emr_id"],
                    echo=echo_chats,
                    floor=floor_chats,
                ).install(application)

            runtime, application = await stack.enter_async_context(
                _serving(_service(settings, concurrency), prepare, meter)
            )
            if options.database_url is not None:
                stack.push_async_callback(_forget, runtime, base, pool)
            bench = _Bench(options, leyr, telegram, meter, itertools.count(base), application)
            progress(f"warm-up: {options.warmup} patients, echo and floor")
            await bench.patients("warm-up", options.warmup, 0.0, 0, 0)
            await bench.reference(echo_chats[-REFERENCE_STEPS:], 1)
            await bench.reference(floor_chats[-REFERENCE_STEPS:], 1)
            progress("sequential passes: bot, echo, floor")
            cpu, felt, round_trips = await bench.sequential(options.sample)
            references = sum(map(len, cpu.values())) // REFERENCE_STEPS or 1
            echo = await bench.reference(echo_chats, references)
            floor = await bench.reference(floor_chats, references)
            baseline, grown = 0.0, 0  # grown: runs since the baseline
            shapes = [(ALL_AT_ONCE, 0.0, False)] if options.burst else []
            if options.burst and options.straight:
                shapes.append((f"{ALL_AT_ONCE}, {STRAIGHT}", 0.0, True))
            if options.rate:
                shapes.append((f"{options.rate:g} patients/s", options.rate, False))
            for name, rate, straight in shapes:
                progress(f"{options.patients} patients, {name}, at {options.latency_ms} ms")
                runs.append(
                    await bench.patients(
                        name,
                        options.patients,
                        rate,
                        options.latency_ms,
                        options.telegram_ms,
                        straight=straight,
                    )
                )
                if not rate or not baseline:  # the runs at once set the high water: after them
                    baseline, grown = _rss_mb(), 0
                else:
                    grown += 1
            after = _rss_mb()
            knee: list[tuple[float, float]] = []
            knee_rate: float | None = None
            if options.knee:
                progress(f"capacity knee: {', '.join(f'{r:g}' for r in options.knee)} per s")
                knee, knee_rate = await bench.knee()
            flood = None
            if options.flood:
                progress(f"flood: {options.flood} /start from one chat")
                flood = await bench.flood()
    finally:
        logging.getLogger().removeHandler(errors)
    calls = felt["calls"]
    per_message = [n for values in calls.values() for n in values]
    report = Report(
        patients=options.patients,
        bulk_patients=options.bulk(options.patients),
        latency_ms=options.latency_ms,
        telegram_ms=options.telegram_ms,
        concurrency=concurrency,
        database=_database_name(database_url),
        log_level=logging.getLevelName(logging.getLogger().getEffectiveLevel()),
        cpus=os.cpu_count() or 1,
        runs=runs,
        critical_round_trips=round_trips,
        telegram_per_message_mean=sum(per_message) / len(per_message) if per_message else 0.0,
        telegram_per_message_max=max(per_message, default=0),
        telegram_by_step={step: max(values) for step, values in calls.items() if values},
        bot=Spread.of([s for samples in cpu.values() for s in samples]),
        bot_by_step={step: Spread.of(samples) for step, samples in cpu.items()},
        echo=echo,
        floor=floor,
        knee=knee,
        knee_rate=knee_rate,
        flood=flood,
        rss_peak_mb=_peak_rss_mb(after),
        rss_baseline_mb=baseline,
        rss_after_mb=after,
        rss_growth_mb_per_10k=(after - baseline) / (options.patients * grown) * 10_000
        if grown
        else None,
        errors_logged=errors.count,
    )
    report.judge()
    return report


def _settings(leyr_base_url: str, telegram_url: str, database_url: str) -> Settings:
    return load_settings(
        telegram_bot_token=TOKEN,
        telegram_api_url=telegram_url,
        leyr_base_url=leyr_base_url,
        leyr_client_id=SANDBOX_CLIENT_ID,
        leyr_client_secret=SANDBOX_CLIENT_SECRET,
        leyr_emr=SANDBOX_EMR,
        leyr_care_unit_id=SANDBOX_CARE_UNIT,
        database_url=database_url,
        sandbox_chat_ids=frozenset(),
        pseudonym_key="bench-pseudonym-key",
    )


def _lower_bound(patients: int, bulk: int) -> dict[str, int]:
    """The fewest Leyr operations for a run: one lookup and one list per patient; one cancel
    PATCH per single patient, one bulk PATCH per bulk patient; one confirm per cancellation;
    no care-unit or practitioner reads (their names are cached)."""
    return {
        "patient": patients,
        "list": patients,
        "cancel": patients - bulk,
        "bulk_cancel": bulk,
        "confirm": patients + bulk,
        **dict.fromkeys(NAME_OPERATIONS, 0),
    }


async def _forget(runtime: Runtime, base: int, pool: int) -> None:
    """Remove the benchmark's rows from a database it was given (its audit rows are those of
    its synthetic patients)."""
    end = base + 3 * CHAT_SPAN
    keys = [runtime.store.patient_key(p["emr_id"]) for p in synthetic_patients(pool)]
    async with runtime.store.engine.begin() as connection:
        await connection.execute(
            delete(ChatState).where(ChatState.chat_id.between(base, end))  # type: ignore[attr-defined]
        )
        await connection.execute(
            delete(CancellationAudit).where(CancellationAudit.patient_key.in_(keys))  # type: ignore[attr-defined]
        )
        await connection.execute(
            delete(ChatLink).where(ChatLink.telegram_user_id.between(base, end))  # type: ignore[attr-defined]
        )
