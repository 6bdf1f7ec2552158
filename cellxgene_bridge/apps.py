from django.apps import AppConfig


class CellxgeneBridgeConfig(AppConfig):
    name = "cellxgene_bridge"
    verbose_name = "Cellxgene viewer"
    # The watchdog, run by the one sweeper (background/sweep.py) every minute: this node's
    # viewers (stops, crashes, idle and memory limits), then publications whose worker died.
    stale_rules = {
        "viewers": "cellxgene_bridge.pool.sweep",
        "publications": "cellxgene_bridge.services.sweep_stale_publications",
    }

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (listens to the workspace's signals)
