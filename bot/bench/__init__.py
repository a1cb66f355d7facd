"""`python -m bot bench`: simulated patients through the real bot, timed as they feel it.

fake_bot_api.py is the fake Telegram Bot API (shared with the tests); telegram_process.py runs it
in its own process over loopback HTTP with simulator.py's patients beside it, patients.py walking
one synthetic patient through the two-step flow; leyr_process.py runs the Leyr emulator in its
own process; reference.py holds the echo and "floor" handlers; runner.py runs the whole
benchmark against the real service and report.py prints it. The method is described in
runner.py.
"""
