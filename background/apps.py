from django.apps import AppConfig


class BackgroundConfig(AppConfig):
    name = "background"
    verbose_name = "Background tasks"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the Celery signal handlers)
