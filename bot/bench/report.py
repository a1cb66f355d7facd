"""The benchmark's figures, the targets they are held to, and their text and JSON forms."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

WALL_MARGIN = 1.25
"""wall(latency) - wall(0) may be at most this times the critical path."""
FLOOR_RATIO = 1.5
"""The bot's p50 CPU per update may be at most this times the floor handler's."""
RSS_GROWTH_MB = 20.0
"""RSS may grow by less than this per 10,000 finished patients."""
TELEGRAM_CALLS = 2
"""Bot API calls per patient message, at most."""


@dataclass(frozen=True)
class Spread:
    """CPU milliseconds per update: median and tail, over `samples` updates."""

    samples: int
    p50: float
    p95: float
    p99: float
    mean: float

    @classmethod
    def of(cls, seconds: list[float]) -> Spread:
        if not seconds:
            return cls(0, 0.0, 0.0, 0.0, 0.0)
        ms = sorted(s * 1000 for s in seconds)
        if len(ms) == 1:
            return cls(1, ms[0], ms[0], ms[0], ms[0])
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
        return cls(len(ms), cuts[49], cuts[94], cuts[98], statistics.fmean(ms))


@dataclass(frozen=True)
class Run:
    """One concurrent run of every patient at one Leyr latency."""

    latency_ms: int
    patients: int
    finished: int
    failed: dict[str, int]
    updates: int
    wall_seconds: float
    loop_busy_seconds: float
    """CPU time of the event loop's thread: the rest of the wall time it waited."""
    updates_per_second: float
    cpu_ms_per_update: float
    """Process CPU per update, minus the fake Bot API's and the simulator's share."""
    harness_ms_per_update: float
    """The fake Bot API's and the simulator's share, left out above."""
    leyr_operations: dict[str, int]
    telegram_calls: dict[str, int]
    emulator_cpu_seconds: float

    @property
    def loop_idle_seconds(self) -> float:
        return self.wall_seconds - self.loop_busy_seconds


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
    concurrency: int
    database: str
    log_level: str
    cpus: int
    zero: list[Run]
    """The runs at 0 ms."""
    chosen: list[Run]
    """The runs at the chosen latency."""
    critical_round_trips: int
    critical_path_seconds: float
    leyr_per_cancellation: dict[str, float]
    leyr_lower_bound: dict[str, int]
    telegram_per_message_mean: float
    telegram_per_message_max: int
    telegram_by_step: dict[str, int]
    """The most Bot API calls any one update of each step made."""
    bot: Spread
    bot_by_step: dict[str, Spread]
    echo: Spread
    floor: Spread
    rss_peak_mb: float
    rss_baseline_mb: float
    rss_after_mb: float
    rss_growth_mb_per_10k: float
    errors_logged: int
    targets: list[Target] = field(default_factory=list)

    @property
    def wall_zero(self) -> float:
        return statistics.median(r.wall_seconds for r in self.zero)

    @property
    def wall_chosen(self) -> float:
        return statistics.median(r.wall_seconds for r in self.chosen)

    @property
    def wall_difference(self) -> float:
        return self.wall_chosen - self.wall_zero

    @property
    def latency_exposed(self) -> float:
        """wall(L) - wall(0) at equal CPU: the event loop's extra waiting at L."""
        return statistics.median(r.loop_idle_seconds for r in self.chosen) - statistics.median(
            r.loop_idle_seconds for r in self.zero
        )

    @property
    def complete(self) -> bool:
        """Every patient of every run reached "Cancelled", and nothing was logged as an error."""
        return all(r.finished == r.patients for r in self.runs()) and self.errors_logged == 0

    def judge(self) -> None:
        """Hold the figures to the targets."""
        lower_bound = all(
            run.leyr_operations.get(kind, 0) == expected
            for run in self.runs()
            for kind, expected in self.leyr_lower_bound.items()
        )
        limit = WALL_MARGIN * self.critical_path_seconds
        self.targets = [
            Target(
                f"wall({self.latency_ms} ms) - wall(0 ms) <= {WALL_MARGIN} x critical path, "
                "at equal CPU",
                round(self.latency_exposed, 3),
                round(limit, 3),
                self.latency_exposed <= limit,
                "s",
            ),
            Target(
                f"wall({self.latency_ms} ms) - wall(0 ms) <= {WALL_MARGIN} x critical path, "
                "raw (includes the machine's speed changes)",
                round(self.wall_difference, 3),
                round(limit, 3),
                self.wall_difference <= limit,
                "s",
            ),
            Target(
                f"bot p50 CPU per update <= {FLOOR_RATIO} x floor handler's",
                round(self.ratio(self.floor), 2),
                FLOOR_RATIO,
                self.ratio(self.floor) <= FLOOR_RATIO,
                "x",
            ),
            Target(
                f"RSS growth per 10,000 finished patients < {RSS_GROWTH_MB:g} MB",
                round(self.rss_growth_mb_per_10k, 1),
                RSS_GROWTH_MB,
                self.rss_growth_mb_per_10k < RSS_GROWTH_MB,
                "MB",
            ),
            Target(
                "Leyr calls per cancellation at the lower bound",
                float(lower_bound),
                1.0,
                lower_bound,
            ),
            Target(
                f"Telegram calls per patient message <= {TELEGRAM_CALLS}",
                float(self.telegram_per_message_max),
                float(TELEGRAM_CALLS),
                self.telegram_per_message_max <= TELEGRAM_CALLS,
            ),
        ]

    def ratio(self, reference: Spread) -> float:
        return self.bot.p50 / reference.p50 if reference.p50 else float("inf")

    def as_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data["wall_zero_seconds"] = self.wall_zero
        data["wall_chosen_seconds"] = self.wall_chosen
        data["wall_difference_seconds"] = self.wall_difference
        data["latency_exposed_seconds"] = self.latency_exposed
        data["ratio_to_echo"] = self.ratio(self.echo)
        data["ratio_to_floor"] = self.ratio(self.floor)
        data["complete"] = self.complete
        return json.dumps(data, indent=2)

    def as_text(self) -> str:
        chosen = self.chosen[-1]
        runs = f"{len(self.chosen)} runs each, medians" if len(self.chosen) > 1 else "one run each"
        lines = [
            f"Benchmark: {self.patients} patients ({self.bulk_patients} cancel two at once), "
            f"Leyr latency {self.latency_ms} ms, concurrency {self.concurrency}, "
            f"{self.database}, log level {self.log_level}, {self.cpus} CPU(s), {runs}",
            "",
            "Throughput",
            f"  updates per second      {_median(self.chosen, 'updates_per_second'):9.1f} at "
            f"{self.latency_ms} ms {_median(self.zero, 'updates_per_second'):9.1f} at 0 ms"
            f"   ({chosen.updates} updates per run)",
            "  finished patients       "
            + ", ".join(f"{r.finished}/{r.patients} at {r.latency_ms} ms" for r in self.runs())
            + _failures(*self.runs()),
            "",
            "CPU per update, the bot's own (ms)",
            _spread("bot", self.bot),
            _spread("echo handler", self.echo, f"bot/echo {self.ratio(self.echo):.2f}x"),
            _spread("floor handler", self.floor, f"bot/floor {self.ratio(self.floor):.2f}x"),
            f"  mean in the concurrent runs {_median(self.chosen, 'cpu_ms_per_update'):.3f} at "
            f"{self.latency_ms} ms, {_median(self.zero, 'cpu_ms_per_update'):.3f} at 0 ms "
            f"(the fake Bot API and the simulator, left out: {chosen.harness_ms_per_update:.3f})",
            "  by step (p50)           "
            + ", ".join(f"{step} {s.p50:.2f}" for step, s in self.bot_by_step.items()),
            "",
            "Wall time",
            f"  wall at {self.latency_ms} ms".ljust(26)
            + f"{self.wall_chosen:9.2f} s   ({_walls(self.chosen)})",
            "  wall at 0 ms".ljust(26) + f"{self.wall_zero:9.2f} s   ({_walls(self.zero)})",
            f"  difference              {self.wall_difference:9.2f} s",
            f"  difference at equal CPU {self.latency_exposed:9.2f} s   (event loop idle: "
            f"{_median(self.chosen, 'loop_idle_seconds'):.2f} s at {self.latency_ms} ms, "
            f"{_median(self.zero, 'loop_idle_seconds'):.2f} s at 0 ms)",
            f"  critical path           {self.critical_path_seconds:9.2f} s   "
            f"({self.critical_round_trips} Leyr round trips on one patient's path x "
            f"{self.latency_ms} ms)",
            "",
            "Calls",
            "  Leyr per cancellation   "
            + ", ".join(f"{k} {v:.3f}" for k, v in self.leyr_per_cancellation.items()),
            "  Leyr, run / lower bound "
            + ", ".join(
                f"{k} {chosen.leyr_operations.get(k, 0)}/{v}"
                for k, v in self.leyr_lower_bound.items()
            ),
            f"  Telegram per message    mean {self.telegram_per_message_mean:.2f}, "
            f"max {self.telegram_per_message_max}; most by step: "
            + ", ".join(f"{k} {v}" for k, v in self.telegram_by_step.items()),
            "  Telegram by method      "
            + ", ".join(f"{k} {v}" for k, v in sorted(chosen.telegram_calls.items())),
            "",
            "Memory",
            f"  peak RSS                {self.rss_peak_mb:9.1f} MB",
            f"  RSS growth              {self.rss_growth_mb_per_10k:9.1f} MB per 10,000 finished "
            f"patients ({self.rss_baseline_mb:.1f} -> {self.rss_after_mb:.1f} MB after the "
            "first concurrent run)",
            "",
            "Emulator CPU (its own process, not counted): "
            f"{_median(self.chosen, 'emulator_cpu_seconds'):.1f} s at {self.latency_ms} ms, "
            f"{_median(self.zero, 'emulator_cpu_seconds'):.1f} s at 0 ms",
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

    def runs(self) -> list[Run]:
        return [*self.zero, *self.chosen]


def _median(runs: list[Run], name: str) -> float:
    return statistics.median(float(getattr(run, name)) for run in runs)


def _walls(runs: list[Run]) -> str:
    return ", ".join(f"{r.wall_seconds:.2f}" for r in runs)


def _spread(name: str, spread: Spread, note: str = "") -> str:
    return (
        f"  {name:<22}  p50 {spread.p50:7.3f}  p95 {spread.p95:7.3f}  p99 {spread.p99:7.3f}"
        f"  ({spread.samples} updates) {note}".rstrip()
    )


def _failures(*runs: Run) -> str:
    failed = {step: n for run in runs for step, n in run.failed.items()}
    if not failed:
        return ""
    return "; failed at " + ", ".join(f"{step} {n}" for step, n in failed.items())
