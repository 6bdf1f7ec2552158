from django.apps import AppConfig


class NcbiBridgeConfig(AppConfig):
    name = "ncbi_bridge"
    verbose_name = "NCBI import"
    # Run by the one sweeper (background/sweep.py).
    stale_rules = {"imports": "ncbi_bridge.services.sweep_stale_imports"}
