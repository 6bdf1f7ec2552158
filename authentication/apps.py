from django.apps import AppConfig


class AuthenticationConfig(AppConfig):
    name = "authentication"
    verbose_name = "Users and access"
