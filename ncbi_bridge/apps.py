from django.apps import AppConfig


class NcbiBridgeConfig(AppConfig):
    name = "ncbi_bridge"
    verbose_name = "NCBI import"
