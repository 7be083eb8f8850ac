from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Liveness of the Celery worker and beat, and the routing sweep's record, for /healthz/worker,
    /healthz/beat and /metrics. Imports none of lifemsg's other apps: they report into it."""

    name = "monitoring"

    def ready(self) -> None:
        from . import worker

        worker.connect_signals()
