from django.apps import AppConfig


class MlInterfaceConfig(AppConfig):
    name = "ml_interface"
    verbose_name = "Analysis tasks"
