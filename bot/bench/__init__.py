"""`python -m bot bench`: simulated patients through the real bot, and what it costs.

telegram_fake.py is the in-process Bot API (a PTB `BaseRequest` that answers at once and counts
calls); leyr_process.py runs the Leyr emulator in its own process over loopback HTTP;
patients.py walks one synthetic patient through the two-step flow; reference.py holds the echo
and "floor" handlers; driver.py feeds updates into the application and times them; runner.py
runs the whole benchmark and report.py prints it. The method is described in runner.py.
"""
