"""Command line: `python -m bot run | chat | sandbox | diagram`."""

from __future__ import annotations

import argparse
import asyncio
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
    diagram = commands.add_parser("diagram", help="print the dialog's state diagram (mermaid)")
    diagram.add_argument("--write", type=Path, help="update the diagram inside this Markdown file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "diagram":
        from bot.diagram import print_or_write

        return print_or_write(args.write)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    setup_logging("WARNING" if args.command == "chat" else settings.log_level)
    if args.command == "chat":
        from bot.console import chat

        asyncio.run(chat(settings))
    elif args.command == "run":
        from bot.telegram.service import run

        return run(settings)
    elif args.command == "sandbox":
        from bot.sandbox.server import serve

        asyncio.run(serve(args.host, args.port, latency_ms=args.latency_ms, seed=args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
