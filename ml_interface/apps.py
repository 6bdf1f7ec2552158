from django.apps import AppConfig


class MlInterfaceConfig(AppConfig):
    name = "ml_interface"
    verbose_name = "Analysis tasks"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the Celery signal handlers)
