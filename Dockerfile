# The bot's image: Python 3.11 slim, production dependencies only, pinned with hashes, run as a
# user without privileges. `docker compose up` (compose.yaml) runs it with PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PTB_TIMEDELTA=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/cancelbot.sqlite3 \
    METRICS_HOST=0.0.0.0

RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent cancelbot \
    && install -d -o cancelbot -g cancelbot /data

WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY bot ./bot
COPY dialogs ./dialogs
# the message catalogs the bot loads (.mo files are built, not committed; it refuses to start
# without them)
RUN python -m babel.messages.frontend compile -d dialogs/locale

USER cancelbot:cancelbot
VOLUME ["/data"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
