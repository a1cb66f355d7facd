"""The Telegram adapter (python-telegram-bot 22, long polling).

app.py builds the Application; ordering.py keeps one chat's updates in order while chats run
concurrently; handlers.py maps updates to dialog events and renders replies (render.py);
wakeups.py delivers a step's wake_at as a Tick; commands.py sets the per-language command menus;
texts.py holds the adapter's own words; service.py is `python -m bot run`.
"""
