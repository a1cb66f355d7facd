"""Command line: `python -m bot run | chat | doctor | sandbox | bench | forget | diagram`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bot.logs import setup_logging
from bot.settings import ConfigError, Settings, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="the Telegram long-polling service")
    chat = commands.add_parser(
        "chat", help="the dialog in this terminal, against the built-in sandbox"
    )
    chat.add_argument(
        "--keep",
        action="store_true",
        help="keep the chat's state across runs, in DATABASE_URL (default: start fresh each run)",
    )
    doctor = commands.add_parser(
        "doctor", help="read-only checks of the configured Leyr connection and EHR"
    )
    doctor.add_argument("--patient", help="a personal number to look up instead of the test number")
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
        "--no-straight",
        action="store_true",
        help="skip the run of every patient at once with the updates put straight on the queue",
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
    forget = commands.add_parser(
        "forget", help="erase a chat's or a patient's stored data (audit rows keep pseudonyms)"
    )
    whom = forget.add_mutually_exclusive_group(required=True)
    whom.add_argument(
        "--chat", type=int, help="a Telegram chat id (a private chat's is its user's)"
    )
    whom.add_argument("--patient", help="an EHR patient id, as Leyr names the patient")
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
        return _bench(args, settings)
    setup_logging("WARNING" if args.command == "chat" else settings.log_level, settings.log_format)
    if args.command == "chat":
        from bot.console import chat

        try:
            asyncio.run(chat(settings, keep=args.keep))
        except ConfigError as error:  # e.g. the database cannot be opened
            print(f"configuration error: {error}", file=sys.stderr)
            return 2
    elif args.command == "doctor":
        from bot.doctor import run_doctor

        return asyncio.run(run_doctor(settings, print, args.patient))
    elif args.command == "run":
        from bot.telegram.service import run

        return run(settings)
    elif args.command == "forget":
        from bot.ops.retention import forget

        try:
            erased = asyncio.run(forget(settings, chat=args.chat, patient=args.patient))
        except ConfigError as error:
            print(f"configuration error: {error}", file=sys.stderr)
            return 2
        print(f"erased {erased.states} dialog state(s) and {erased.links} link(s)")
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


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bench.runner import Options, run_bench

    setup_logging(args.log_level.upper(), settings.log_format)
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
        straight=not args.no_straight,
        knee=tuple(float(rate) for rate in args.knee.split(",") if rate.strip()),
        knee_seconds=args.knee_seconds,
        flood=args.flood,
    )
    report = asyncio.run(run_bench(options, lambda line: print(line, file=sys.stderr)))
    print(report.as_json() if args.json else report.as_text())
    return 0 if report.complete else 1


if __name__ == "__main__":
    sys.exit(main())
