from django.apps import AppConfig


class CellxgeneBridgeConfig(AppConfig):
    name = "cellxgene_bridge"
    verbose_name = "Cellxgene viewer"
