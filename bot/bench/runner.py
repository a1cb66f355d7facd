"""The benchmark: N synthetic patients through the real bot, concurrently, twice.

Set-up. The Leyr emulator runs in its own process with N synthetic patients. The bot is the
real runtime (`open_runtime`: storage, engine, Leyr client over loopback HTTP, chats not sandbox)
and the real `Application` (`build_application`: `ChatOrderedProcessor`, rate limiter, the
adapter's handlers), with the in-process fake Bot API instead of HTTP and Telegram's 30 calls/s
broadcast limit lifted (the fake has none). Updates go onto `Application.update_queue`; the
poller is not run. The echo and floor reference handlers sit on the same application.

Runs, in this order (the EHR's data is reset before each):
1. warm-up: a few patients (caches, connection pools, compiled SQL), a few echo and floor
   updates;
2. sequential passes at 0 ms, one update at a time: `sample` patients through the bot, then as
   many updates through the echo and through the floor handler: the CPU of each update alone
   (p50, p95, p99), the Bot API calls per update, and the Leyr round trips on one patient's path;
3. every patient at once at 0 ms Leyr latency: wall(0);
4. every patient at once at the chosen latency: wall(L), updates per second, Leyr and Telegram
   calls, the mean CPU per update. With `repeat` > 1, 3 and 4 alternate (0, L, L, 0, 0, L, ...)
   and the median of each latency's runs is reported.

Wall time. wall(L) - wall(0) is at the mercy of the machine's speed: on a shared VM the same
CPU-bound run can take 10% longer or shorter from one minute to the next, many times the
critical path. So the difference is also given at equal CPU: the time the event loop's thread
waited (wall minus its CPU time) at L, minus the same at 0 ms. Work the bot does not overlap
with Leyr's latency shows up there, the machine's speed does not.

CPU. Per update in the sequential passes: process CPU (every thread: SQLite runs in aiosqlite's
threads) from parsing the update to its `on_done`, minus the fake Bot API's own time; the same
method for the bot, the echo and the floor handler. In the concurrent runs updates overlap, so
only the mean is given: process CPU over the run minus the fake Bot API's measured time and the
simulator's (its CPU per update as measured between updates in the sequential pass), divided by
the updates. The emulator's CPU is its own process's and is never counted.

Memory. Peak RSS is the process's high-water mark. Growth is RSS after the last concurrent run
minus RSS after the first (both after a garbage collection): the first has already taken the
process to full load, so what remains is what the patients finished since leave behind, scaled
to 10,000 patients.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
import resource
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psutil
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from bot.bench.driver import Driver, Tally
from bot.bench.leyr_process import LeyrControl, leyr_process
from bot.bench.patients import Identity, Patient, PatientFailed, identities
from bot.bench.reference import ReferenceHandlers
from bot.bench.report import Report, Run, Spread
from bot.bench.telegram_fake import TOKEN, FakeBotApi
from bot.runtime import Runtime, open_runtime
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
from bot.telegram.app import build_application
from bot.telegram.handlers import AnyApplication
from bot.telegram.ordering import DEFAULT_CONCURRENCY, DEFAULT_MAX_HELD
from bot.telegram.service import adapter_for

log = logging.getLogger(__name__)

CHAT_SPAN = 10**9
"""Chat ids of one benchmark: patients, then echo chats, then floor chats, each this many."""
REFERENCE_STEPS = 6
"""Updates per echo or floor chat in the sequential pass (a patient's single flow has six)."""
NAME_OPERATIONS = ("care_units", "resources")


@dataclass(frozen=True)
class Options:
    patients: int = 2000
    latency_ms: int = 200
    database_url: str | None = None
    """None: a fresh SQLite file in a temporary directory."""
    concurrency: int | None = None
    """Updates at work at once; None: the service's own default (`DEFAULT_CONCURRENCY`)."""
    sample: int = 200
    """Patients in the sequential pass."""
    bulk_every: int = 10
    """Every n-th patient cancels both appointments at once; 0: none does."""
    warmup: int = 20
    repeat: int = 1
    """Concurrent runs per latency, interleaved (0, L, L, 0, 0, L, ...); medians are reported."""

    def concurrency_for_run(self) -> int:
        return max(1, min(self.concurrency or DEFAULT_CONCURRENCY, DEFAULT_MAX_HELD))

    def is_bulk(self, index: int) -> bool:
        return self.bulk_every > 0 and index % self.bulk_every == self.bulk_every - 1


class _ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@dataclass
class _Bench:
    options: Options
    leyr: LeyrControl
    runtime: Runtime
    fake: FakeBotApi
    driver: Driver
    people: list[Identity]
    chats: Iterator[int]
    simulator_seconds_per_update: float = 0.0

    def patients(self, count: int) -> list[Patient]:
        return [
            Patient(next(self.chats), self.people[i], self.fake, bulk=self.options.is_bulk(i))
            for i in range(count)
        ]

    async def concurrent(self, count: int, latency_ms: int) -> Run:
        await self.leyr.reset()
        await self.leyr.set_latency(latency_ms)
        patients = self.patients(count)
        operations = await self.leyr.operations()
        emulator_cpu = self.leyr.cpu_seconds()
        calls = Counter(self.fake.calls)
        self.driver.new_tally()
        gc.collect()
        cpu, answering, started = time.process_time(), self.fake.cpu_seconds, time.perf_counter()
        loop = time.thread_time()
        results = await asyncio.gather(
            *(p.visit(self.driver.send, self.leyr.sms_codes) for p in patients),
            return_exceptions=True,
        )
        wall = time.perf_counter() - started
        loop = time.thread_time() - loop
        cpu = time.process_time() - cpu
        answering = self.fake.cpu_seconds - answering
        emulator_cpu = self.leyr.cpu_seconds() - emulator_cpu
        tally = self.driver.new_tally()
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, PatientFailed):
                raise result
        failed = Counter(r.step for r in results if isinstance(r, PatientFailed))
        after = await self.leyr.operations()
        updates = tally.total_updates
        harness = answering + self.simulator_seconds_per_update * updates
        return Run(
            latency_ms=latency_ms,
            patients=count,
            finished=count - sum(failed.values()),
            failed=dict(failed),
            updates=updates,
            wall_seconds=wall,
            loop_busy_seconds=loop,
            updates_per_second=updates / wall if wall else 0.0,
            cpu_ms_per_update=(cpu - harness) / updates * 1000 if updates else 0.0,
            harness_ms_per_update=harness / updates * 1000 if updates else 0.0,
            leyr_operations={k: after.get(k, 0) - operations.get(k, 0) for k in after},
            telegram_calls=dict(self.fake.calls - calls),
            emulator_cpu_seconds=emulator_cpu,
        )

    async def sequential(self, count: int) -> tuple[Tally, int]:
        """`count` patients one after the other, one update at a time, at 0 ms: the tally with
        each update's CPU, and the most Leyr round trips on one patient's path."""
        await self.leyr.reset()
        await self.leyr.set_latency(0)
        self.driver.new_tally()
        self.driver.measure_cpu = True
        round_trips = 0
        outside = 0.0
        try:
            for patient in self.patients(count):
                before = await self.leyr.operations()
                cpu, answering = time.process_time(), self.fake.cpu_seconds
                measured = sum(self.driver.tally.cpu_samples())
                await patient.visit(self.driver.send, self.leyr.sms_codes)
                spent = time.process_time() - cpu - (self.fake.cpu_seconds - answering)
                outside += spent - (sum(self.driver.tally.cpu_samples()) - measured)
                after = await self.leyr.operations()
                round_trips = max(round_trips, sum(after.values()) - sum(before.values()))
        finally:
            self.driver.measure_cpu = False
        tally = self.driver.new_tally()
        if tally.total_updates:
            self.simulator_seconds_per_update = outside / tally.total_updates
        return tally, round_trips

    async def reference(self, chats: range, count: int, prefix: str) -> Spread:
        """`count` chats of REFERENCE_STEPS text messages each, one update at a time."""
        self.driver.new_tally()
        self.driver.measure_cpu = True
        try:
            for chat_id in itertools.islice(chats, count):
                for step in range(REFERENCE_STEPS):
                    await self.driver.send(_text(chat_id, step + 1, f"{prefix} {step}"), prefix)
        finally:
            self.driver.measure_cpu = False
        return Spread.of(self.driver.new_tally().cpu_samples())


def _text(chat_id: int, message_id: int, text: str) -> dict[str, Any]:
    return {
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Patient"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Patient"},
            "text": text,
        }
    }


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


@asynccontextmanager
async def _application(
    runtime: Runtime, fake: FakeBotApi, driver: Driver, concurrency: int
) -> AsyncIterator[AnyApplication]:
    adapter = adapter_for(runtime)
    application = build_application(
        TOKEN,
        runtime.settings.telegram_api_url,
        adapter,
        concurrency=concurrency,
        on_done=driver.done,
        request=fake,
        overall_rate=0,
    )
    driver.attach(application)
    await application.initialize()
    try:
        await application.start()
        try:
            yield application
        finally:
            await application.stop()
            if adapter.scheduler is not None:
                adapter.scheduler.cancel_all()
    finally:
        await application.shutdown()


async def run_bench(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    """Run the whole benchmark; `progress` is told what is starting."""
    if options.patients < 1 or options.sample < 1 or options.repeat < 1:
        raise ValueError("need at least one patient, a sample of one and one run per latency")
    if options.latency_ms <= 0:
        raise ValueError("the chosen latency must be above 0 ms (it is compared with 0 ms)")
    pool = max(options.patients, options.sample, options.warmup)
    base = CHAT_SPAN + secrets.randbelow(CHAT_SPAN) * 4
    errors = _ErrorCount()
    logging.getLogger().addHandler(errors)
    async with AsyncExitStack() as stack:
        database_url = options.database_url
        if database_url is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-"))
            database_url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
        progress(f"starting the Leyr emulator with {pool} synthetic patients")
        leyr = await stack.enter_async_context(leyr_process(pool))
        settings = _settings(leyr.base_url, database_url)
        runtime = await stack.enter_async_context(open_runtime(settings))
        if options.database_url is not None:
            stack.push_async_callback(_forget, runtime, base, pool)
        assert runtime.leyr is not None
        fake = FakeBotApi()
        driver = Driver(fake)
        concurrency = options.concurrency_for_run()
        application = await stack.enter_async_context(
            _application(runtime, fake, driver, concurrency)
        )
        echo_chats = range(base + CHAT_SPAN, base + 2 * CHAT_SPAN)
        floor_chats = range(base + 2 * CHAT_SPAN, base + 3 * CHAT_SPAN)
        ReferenceHandlers(
            runtime.store,
            runtime.leyr,
            synthetic_patients(1)[0]["emr_id"],
            echo=echo_chats,
            floor=floor_chats,
        ).install(application)
        bench = _Bench(
            options, leyr, runtime, fake, driver, identities(pool), itertools.count(base)
        )
        try:
            progress(f"warm-up: {options.warmup} patients, echo and floor")
            await bench.concurrent(options.warmup, 0)
            await bench.reference(echo_chats[-REFERENCE_STEPS:], 1, "echo")
            await bench.reference(floor_chats[-REFERENCE_STEPS:], 1, "floor")
            progress("sequential passes: bot, echo, floor")
            tally, round_trips = await bench.sequential(options.sample)
            references = len(tally.cpu_samples()) // REFERENCE_STEPS or 1
            echo = await bench.reference(echo_chats, references, "echo")
            floor = await bench.reference(floor_chats, references, "floor")
            runs: dict[int, list[Run]] = {0: [], options.latency_ms: []}
            baseline = 0.0
            for latency in _interleaved(options.latency_ms, options.repeat):
                progress(f"{options.patients} patients at {latency} ms")
                runs[latency].append(await bench.concurrent(options.patients, latency))
                if not baseline:
                    baseline = _rss_mb()
            after = _rss_mb()
        finally:
            logging.getLogger().removeHandler(errors)
    bulk = sum(options.is_bulk(i) for i in range(options.patients))
    report = Report(
        patients=options.patients,
        bulk_patients=bulk,
        latency_ms=options.latency_ms,
        concurrency=concurrency,
        database=_database_name(database_url),
        log_level=logging.getLevelName(logging.getLogger().getEffectiveLevel()),
        cpus=os.cpu_count() or 1,
        zero=runs[0],
        chosen=runs[options.latency_ms],
        critical_round_trips=round_trips,
        critical_path_seconds=round_trips * options.latency_ms / 1000,
        leyr_per_cancellation=_per_cancellation(
            runs[options.latency_ms][-1], options.patients + bulk
        ),
        leyr_lower_bound=_lower_bound(options.patients, bulk),
        telegram_per_message_mean=sum(tally.telegram_calls.values()) / tally.total_updates,
        telegram_per_message_max=max(tally.most_telegram_calls.values(), default=0),
        telegram_by_step=dict(tally.most_telegram_calls),
        bot=Spread.of(tally.cpu_samples()),
        bot_by_step={step: Spread.of(samples) for step, samples in tally.cpu.items()},
        echo=echo,
        floor=floor,
        rss_peak_mb=_peak_rss_mb(after),
        rss_baseline_mb=baseline,
        rss_after_mb=after,
        rss_growth_mb_per_10k=(after - baseline)
        / (options.patients * (2 * options.repeat - 1))
        * 10_000,
        errors_logged=errors.count,
    )
    report.judge()
    return report


def _settings(leyr_base_url: str, database_url: str) -> Settings:
    return load_settings(
        telegram_bot_token=TOKEN,
        leyr_base_url=leyr_base_url,
        leyr_client_id=SANDBOX_CLIENT_ID,
        leyr_client_secret=SANDBOX_CLIENT_SECRET,
        leyr_emr=SANDBOX_EMR,
        leyr_care_unit_id=SANDBOX_CARE_UNIT,
        database_url=database_url,
        sandbox_chat_ids=frozenset(),
        pseudonym_key="bench-pseudonym-key",
    )


def _interleaved(latency_ms: int, repeat: int) -> list[int]:
    """0, L, then L, 0, then 0, L, ...: a slow drift of the machine's speed favours neither."""
    pairs = [(0, latency_ms) if r % 2 == 0 else (latency_ms, 0) for r in range(repeat)]
    return [latency for pair in pairs for latency in pair]


def _per_cancellation(run: Run, cancellations: int) -> dict[str, float]:
    return {
        kind: count / cancellations
        for kind, count in sorted(run.leyr_operations.items())
        if count and cancellations
    }


def _lower_bound(patients: int, bulk: int) -> dict[str, int]:
    """The fewest Leyr operations for the run: one lookup and one list per patient; one cancel
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
