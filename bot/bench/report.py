"""The benchmark's figures, the targets they are held to, and their text and JSON forms."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

FLOOR_RATIO = 1.5
"""The bot's p50 CPU per update may be at most this times the floor handler's."""
RSS_GROWTH_MB = 20.0
"""RSS may grow by less than this per 10,000 finished patients."""
TELEGRAM_CALLS = 2
"""Bot API calls per patient message, at most."""
STEP_MS = 30
"""A step's own time in the first reply's p50 target (on top of one Leyr and one Bot API trip)."""
TAIL_MS = 100
"""The slack in the first reply's p99 target (on top of two Leyr and two Bot API trips)."""
BUTTON_MS = 50
"""A button press is answered within this, p99, once the bot has it: from the getUpdates
answer that carried it to its answerCallbackQuery (the network's share left out)."""
POLLER_RATIO = 1.15
"""CPU per update through the poller may be at most this times that of the same run with every
update put straight on the bot's queue."""
ALL_AT_ONCE = "all at once"
STRAIGHT = "straight on the queue"
KNEE_RATE = 30.0
"""Patients per second the bot must take with the first-reply p99 under 2 x Leyr + 100 ms."""


@dataclass(frozen=True)
class Spread:
    """Milliseconds: median and tail, over `samples` values."""

    samples: int
    p50: float
    p95: float
    p99: float
    mean: float

    @classmethod
    def of(cls, seconds: list[float]) -> Spread:
        return cls.of_ms([s * 1000 for s in seconds])

    @classmethod
    def of_ms(cls, values: list[float]) -> Spread:
        if not values:
            return cls(0, 0.0, 0.0, 0.0, 0.0)
        ms = sorted(values)
        if len(ms) == 1:
            return cls(1, ms[0], ms[0], ms[0], ms[0])
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
        return cls(len(ms), cuts[49], cuts[94], cuts[98], statistics.fmean(ms))


@dataclass(frozen=True)
class Run:
    """One run of patients at the chosen latencies."""

    name: str
    rate: float
    """Patients arriving per second; 0: all at once."""
    latency_ms: int
    telegram_ms: int
    patients: int
    finished: int
    failed: dict[str, int]
    updates: int
    wall_seconds: float
    updates_per_second: float
    cpu_ms_per_update: float
    """This process's CPU (the bot's) over the run, per update."""
    steal_percent: float
    """The machine's CPU time its hypervisor gave to others during the run, in percent of all
    its cores' time (0 where the system does not count it): runs with much of it are slower."""
    first_reply: Spread
    first_reply_by_step: dict[str, Spread]
    button: Spread
    """From the press to its answer, less one Bot API round trip."""
    button_bot: Spread
    """The bot's own part: from the getUpdates answer that carried the press to its answer."""
    gc_pauses: Spread
    """The garbage collector's pauses in the bot's process during the run."""
    leyr_operations: dict[str, int]
    leyr_at_lower_bound: bool
    telegram_calls: dict[str, int]
    straight: bool = False
    """The updates went straight on the bot's queue, not through its poller: a reference for
    the poller's CPU; its latencies lack the poll's and are held to no target."""


@dataclass(frozen=True)
class FloodFigures:
    """One chat floods with /start; others ask /help meanwhile."""

    messages: int
    others: int
    answered: int
    others_reply: Spread
    flooder_calls: int
    """Bot API calls the flooding chat got."""


@dataclass(frozen=True)
class Target:
    name: str
    figure: float
    limit: float
    met: bool
    unit: str = ""


@dataclass
class Report:
    patients: int
    bulk_patients: int
    latency_ms: int
    telegram_ms: int
    concurrency: int
    database: str
    log_level: str
    cpus: int
    runs: list[Run]
    critical_round_trips: int
    telegram_per_message_mean: float
    telegram_per_message_max: int
    telegram_by_step: dict[str, int]
    """The most Bot API calls any one update of each step made (sequential pass)."""
    bot: Spread
    bot_by_step: dict[str, Spread]
    echo: Spread
    floor: Spread
    knee: list[tuple[float, float]]
    """(arrival rate, first-reply p99 ms) for each rate tried."""
    knee_rate: float | None
    flood: FloodFigures | None
    rss_peak_mb: float
    rss_baseline_mb: float
    rss_after_mb: float
    rss_growth_mb_per_10k: float | None
    """From the end of the runs of every patient at once (or of the first run, without them) to
    the end of the last; None when no run follows them."""
    errors_logged: int
    targets: list[Target] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every patient of every run reached "Cancelled", and nothing was logged as an error."""
        return all(r.finished == r.patients for r in self.runs) and self.errors_logged == 0

    def ratio(self, reference: Spread) -> float:
        return self.bot.p50 / reference.p50 if reference.p50 else float("inf")

    def judge(self) -> None:
        """Hold the figures to the targets."""
        leyr, telegram = self.latency_ms, self.telegram_ms
        self.targets = []
        for run in self.runs:
            if run.straight:
                continue
            if run.rate:
                p50_limit = leyr + telegram + STEP_MS
                p99_limit = 2 * leyr + 2 * telegram + TAIL_MS
                self.targets += [
                    Target(
                        f"{run.name}: first reply p50 < Leyr + Telegram + {STEP_MS} ms",
                        round(run.first_reply.p50, 1),
                        p50_limit,
                        run.first_reply.samples > 0 and run.first_reply.p50 < p50_limit,
                        " ms",
                    ),
                    Target(
                        f"{run.name}: first reply p99 < 2 x Leyr + 2 x Telegram + {TAIL_MS} ms",
                        round(run.first_reply.p99, 1),
                        p99_limit,
                        run.first_reply.samples > 0 and run.first_reply.p99 < p99_limit,
                        " ms",
                    ),
                ]
            self.targets.append(
                Target(
                    f"{run.name}: button answer p99 < {BUTTON_MS} ms, once the bot has the press",
                    round(run.button_bot.p99, 1),
                    BUTTON_MS,
                    run.button_bot.samples > 0 and run.button_bot.p99 < BUTTON_MS,  # none: not met
                    " ms",
                )
            )
        polled = [r for r in self.runs if not r.rate and not r.straight]
        straight = [r for r in self.runs if r.straight]
        if polled and straight and straight[0].cpu_ms_per_update:
            ratio = polled[0].cpu_ms_per_update / straight[0].cpu_ms_per_update
            self.targets.append(
                Target(
                    f"CPU per update through the poller <= {POLLER_RATIO} x {STRAIGHT} "
                    f"({ALL_AT_ONCE})",
                    round(ratio, 2),
                    POLLER_RATIO,
                    ratio <= POLLER_RATIO,
                    "x",
                )
            )
        if self.knee:
            knee = self.knee_rate or 0.0
            self.targets.append(
                Target(
                    f"capacity knee (first reply p99 < 2 x Leyr + {TAIL_MS} ms) >= {KNEE_RATE:g}",
                    knee,
                    KNEE_RATE,
                    knee >= KNEE_RATE,
                    " patients/s",
                )
            )
        self.targets += [
            Target(
                f"bot p50 CPU per update <= {FLOOR_RATIO} x floor handler's",
                round(self.ratio(self.floor), 2),
                FLOOR_RATIO,
                self.ratio(self.floor) <= FLOOR_RATIO,
                "x",
            ),
        ]
        if self.rss_growth_mb_per_10k is not None:  # one run: nothing to grow over, no verdict
            self.targets.append(
                Target(
                    f"RSS growth per 10,000 finished patients < {RSS_GROWTH_MB:g} MB",
                    round(self.rss_growth_mb_per_10k, 1),
                    RSS_GROWTH_MB,
                    self.rss_growth_mb_per_10k < RSS_GROWTH_MB,
                    " MB",
                )
            )
        self.targets += [
            Target(
                "Leyr calls per cancellation at the lower bound",
                float(all(r.leyr_at_lower_bound for r in self.runs)),
                1.0,
                all(r.leyr_at_lower_bound for r in self.runs),
            ),
            Target(
                f"Telegram calls per patient message <= {TELEGRAM_CALLS}",
                float(self.telegram_per_message_max),
                float(TELEGRAM_CALLS),
                self.telegram_per_message_max <= TELEGRAM_CALLS,
            ),
        ]

    def as_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data["ratio_to_echo"] = self.ratio(self.echo)
        data["ratio_to_floor"] = self.ratio(self.floor)
        data["complete"] = self.complete
        return json.dumps(data, indent=2)

    def as_text(self) -> str:
        lines = [
            f"Benchmark: {self.patients} patients ({self.bulk_patients} cancel two at once), "
            f"Leyr latency {self.latency_ms} ms, Telegram round trip {self.telegram_ms} ms, "
            f"concurrency {self.concurrency}, {self.database}, log level {self.log_level}, "
            f"{self.cpus} CPU(s); through the real poller and the Bot API over HTTP",
            "",
            "CPU per update, the bot's own, sequential (ms)",
            _spread("bot", self.bot),
            _spread("echo handler", self.echo, f"bot/echo {self.ratio(self.echo):.2f}x"),
            _spread("floor handler", self.floor, f"bot/floor {self.ratio(self.floor):.2f}x"),
            "  by step (p50)           "
            + ", ".join(f"{step} {s.p50:.2f}" for step, s in self.bot_by_step.items()),
        ]
        for run in self.runs:
            lines += [
                "",
                f"Run: {run.name} ({run.patients} patients, {run.updates} updates)"
                + (": no poller, a reference for its CPU" if run.straight else ""),
                f"  finished                {run.finished}/{run.patients}" + _failures(run),
                f"  wall                    {run.wall_seconds:9.2f} s, "
                f"{run.updates_per_second:.1f} updates/s, CPU steal {run.steal_percent:.1f}%",
                f"  CPU per update (mean)   {run.cpu_ms_per_update:9.3f} ms",
                _spread(
                    "GC pauses",
                    run.gc_pauses,
                    f"{run.gc_pauses.mean * run.gc_pauses.samples:.0f} ms in all",
                ),
                _spread("first reply", run.first_reply),
                "  first reply by step     "
                + ", ".join(
                    f"{step} {s.p50:.0f}/{s.p99:.0f}" for step, s in run.first_reply_by_step.items()
                )
                + " (p50/p99 ms)",
                _spread("button answer", run.button, "(less one Telegram round trip)"),
                _spread("  the bot's own part", run.button_bot, "(from the getUpdates answer)"),
                "  Leyr calls              "
                + ", ".join(f"{k} {v}" for k, v in sorted(run.leyr_operations.items()))
                + (" (at the lower bound)" if run.leyr_at_lower_bound else " (ABOVE the bound)"),
                "  Telegram by method      "
                + ", ".join(f"{k} {v}" for k, v in sorted(run.telegram_calls.items()) if v),
            ]
        if self.knee:
            lines += [
                "",
                "Capacity knee: "
                + ", ".join(f"{rate:g}/s p99 {p99:.0f} ms" for rate, p99 in self.knee)
                + f"; knee {self.knee_rate or 0:g} patients/s",
            ]
        if self.flood is not None:
            flood = self.flood
            lines += [
                "",
                f"Flood: {flood.messages} /start from one chat; {flood.answered}/{flood.others} "
                "other chats answered",
                _spread("others' first reply", flood.others_reply),
                f"  Bot API calls to the flooding chat {flood.flooder_calls}",
            ]
        lines += [
            "",
            "Calls",
            f"  Leyr round trips on one patient's path {self.critical_round_trips}",
            f"  Telegram per message    mean {self.telegram_per_message_mean:.2f}, "
            f"max {self.telegram_per_message_max}; most by step: "
            + ", ".join(f"{k} {v}" for k, v in self.telegram_by_step.items()),
            "",
            "Memory",
            f"  peak RSS                {self.rss_peak_mb:9.1f} MB",
            _rss_growth(self),
            f"Errors logged: {self.errors_logged}",
            "",
            "Targets",
        ]
        for target in self.targets:
            verdict = "met   " if target.met else "MISSED"
            lines.append(
                f"  {verdict} {target.name}: {target.figure:g}{target.unit} "
                f"(limit {target.limit:g}{target.unit})"
            )
        return "\n".join(lines)


def _spread(name: str, spread: Spread, note: str = "") -> str:
    return (
        f"  {name:<22}  p50 {spread.p50:7.3f}  p95 {spread.p95:7.3f}  p99 {spread.p99:7.3f}"
        f"  ({spread.samples}) {note}".rstrip()
    )


def _rss_growth(report: Report) -> str:
    if report.rss_growth_mb_per_10k is None:
        return (
            "  RSS growth              not measured: it needs a run after the first "
            "(after those all at once, when there are)"
        )
    return (
        f"  RSS growth              {report.rss_growth_mb_per_10k:9.1f} MB per 10,000 finished "
        f"patients ({report.rss_baseline_mb:.1f} -> {report.rss_after_mb:.1f} MB, from the end "
        "of the runs at once, or of the first)"
    )


def _failures(run: Run) -> str:
    if not run.failed:
        return ""
    return "; failed at " + ", ".join(f"{step} {n}" for step, n in run.failed.items())
