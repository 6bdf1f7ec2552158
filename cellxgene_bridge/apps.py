from django.apps import AppConfig


class CellxgeneBridgeConfig(AppConfig):
    name = "cellxgene_bridge"
    verbose_name = "Cellxgene viewer"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (listens to the workspace's signals)
