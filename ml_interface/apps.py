from django.apps import AppConfig


class MlInterfaceConfig(AppConfig):
    name = "ml_interface"
    verbose_name = "Analysis tasks"
    # Run by the one sweeper (background/sweep.py).
    stale_rules = {"tasks": "ml_interface.services.fail_stale_tasks"}

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the Celery signal handlers)
