from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _register_sqlite_functions(sender, connection, **kwargs):  # type: ignore[no-untyped-def]
    if connection.vendor == "sqlite":
        from .audit import audit_locked

        connection.connection.create_function("biofm_audit_locked", 0, audit_locked, deterministic=False)


class AuthenticationConfig(AppConfig):
    name = "authentication"
    verbose_name = "Users, access and audit"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the audit signal handlers)

        connection_created.connect(_register_sqlite_functions, dispatch_uid="biofm_sqlite_functions")
