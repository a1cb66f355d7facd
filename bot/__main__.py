"""Command line: `python -m bot run | chat | sandbox | bench | diagram`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bot.logs import setup_logging
from bot.settings import ConfigError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="the Telegram long-polling service")
    commands.add_parser("chat", help="the dialog in this terminal, against the built-in sandbox")
    sandbox = commands.add_parser("sandbox", help="serve the Leyr emulator over HTTP on loopback")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--latency-ms", type=int, default=0)
    sandbox.add_argument("--seed", type=int, default=1)
    sandbox.add_argument(
        "--patients",
        type=int,
        default=0,
        help="synthetic patients besides the four test patients (for load tests)",
    )
    bench = commands.add_parser(
        "bench", help="simulated patients through the real bot: throughput, CPU, memory, calls"
    )
    bench.add_argument("--patients", type=int, default=2000)
    bench.add_argument("--latency-ms", type=int, default=200, help="each Leyr call's latency")
    bench.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="default: DATABASE_URL from the environment, else a fresh SQLite file",
    )
    bench.add_argument(
        "--concurrency", type=int, help="updates at work at once (default: the service's own)"
    )
    bench.add_argument("--sample", type=int, default=200, help="patients in the sequential pass")
    bench.add_argument(
        "--bulk-every", type=int, default=10, help="every n-th patient cancels two at once"
    )
    bench.add_argument(
        "--telegram-ms", type=int, default=50, help="each Bot API call's round-trip time"
    )
    bench.add_argument(
        "--rate", type=float, default=10.0, help="patients arriving per second (0: no such run)"
    )
    bench.add_argument(
        "--no-burst", action="store_true", help="skip the run of every patient arriving at once"
    )
    bench.add_argument(
        "--knee",
        default="",
        help="comma-separated arrival rates to find the capacity knee at, e.g. 10,20,30,40",
    )
    bench.add_argument("--knee-seconds", type=float, default=20.0, help="arrivals per knee rate")
    bench.add_argument(
        "--flood", type=int, default=0, help="/start messages of one flooding chat (0: none)"
    )
    bench.add_argument("--log-level", default="WARNING")
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    diagram = commands.add_parser("diagram", help="print the dialog's state diagram (mermaid)")
    diagram.add_argument("--write", type=Path, help="update the diagram inside this Markdown file")
    return parser


def main(argv: list[str] | None = None) -> int:
    # PTB 22.2+ gives time periods (RetryAfter.retry_after) as timedelta on request, as v23 will
    # always, and warns on every int; bot.telegram reads either.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    args = _parser().parse_args(argv)
    if args.command == "diagram":
        from bot.diagram import print_or_write

        return print_or_write(args.write)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    if args.command == "bench":
        return _bench(args)
    setup_logging("WARNING" if args.command == "chat" else settings.log_level)
    if args.command == "chat":
        from bot.console import chat

        try:
            asyncio.run(chat(settings))
        except ConfigError as error:  # e.g. the database cannot be opened
            print(f"configuration error: {error}", file=sys.stderr)
            return 2
    elif args.command == "run":
        from bot.telegram.service import run

        return run(settings)
    elif args.command == "sandbox":
        from bot.sandbox.server import serve

        asyncio.run(
            serve(
                args.host,
                args.port,
                latency_ms=args.latency_ms,
                seed=args.seed,
                synthetic_patients=args.patients,
            )
        )
    return 0


def _bench(args: argparse.Namespace) -> int:
    from bot.bench.runner import Options, run_bench

    setup_logging(args.log_level.upper())
    options = Options(
        patients=args.patients,
        latency_ms=args.latency_ms,
        database_url=args.database_url or None,
        concurrency=args.concurrency,
        sample=min(args.sample, args.patients),
        bulk_every=args.bulk_every,
        telegram_ms=args.telegram_ms,
        rate=args.rate,
        burst=not args.no_burst,
        knee=tuple(float(rate) for rate in args.knee.split(",") if rate.strip()),
        knee_seconds=args.knee_seconds,
        flood=args.flood,
    )
    report = asyncio.run(run_bench(options, lambda line: print(line, file=sys.stderr)))
    print(report.as_json() if args.json else report.as_text())
    return 0 if report.complete else 1


if __name__ == "__main__":
    sys.exit(main())
