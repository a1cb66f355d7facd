"""Running the bot at a clinic: health and readiness, Prometheus metrics, replica leadership,
and the purge of data kept too long."""
