"""The service's Prometheus metrics (prometheus-client's default registry, served on
`/metrics` when `METRICS_PORT` is set). Labels hold only fixed vocabularies: endpoint templates,
status codes, error class names, dialog outcomes; never chat ids, patient ids or texts."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

UPDATES_HANDLED = Counter(
    "cancelbot_updates_handled", "Telegram updates whose handling finished", ["result"]
)
UPDATES_IN_FLIGHT = Gauge(
    "cancelbot_updates_in_flight", "Telegram updates held: waiting for their chat or at work"
)
DIALOG_OUTCOMES = Counter(
    "cancelbot_dialog_outcomes",
    "Appointments' outcomes as the audit log records them (cancelled, failed, unknown, "
    "abandoned, expired, awaiting_confirmation)",
    ["outcome"],
)
LEYR_CALLS = Counter(
    "cancelbot_leyr_calls",
    "Leyr API calls by endpoint and result",
    ["method", "endpoint", "result"],
)
LEYR_SECONDS = Histogram(
    "cancelbot_leyr_call_seconds",
    "Leyr API call latency by endpoint",
    ["method", "endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
BOT_API_ERRORS = Counter(
    "cancelbot_bot_api_errors",
    "Bot API calls that failed, by method and HTTP status or network error",
    ["method", "error"],
)
CODE_EXPIRIES = Counter(
    "cancelbot_code_step_expiries", "Wake-ups of dialogs whose SMS code expired while waiting"
)


def leyr_call(method: str, endpoint: str, result: str, seconds: float) -> None:
    """One Leyr call: `endpoint` is the path template, `result` a status code or error name."""
    LEYR_CALLS.labels(method, endpoint, result).inc()
    LEYR_SECONDS.labels(method, endpoint).observe(seconds)
