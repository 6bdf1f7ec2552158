import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command


@pytest.mark.django_db
def test_ensure_admin_creates_once_and_keeps_password(monkeypatch):
    monkeypatch.setenv("BIOFM_ADMIN_USER", "admin")
    monkeypatch.setenv("BIOFM_ADMIN_PASSWORD", "first-pass-123")
    call_command("ensure_admin")
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.check_password("first-pass-123")
    monkeypatch.setenv("BIOFM_ADMIN_PASSWORD", "second-pass-456")
    call_command("ensure_admin")
    user.refresh_from_db()
    assert user.check_password("first-pass-123")
    call_command("ensure_admin", "--reset-password")
    user.refresh_from_db()
    assert user.check_password("second-pass-456")


@pytest.mark.django_db
def test_ensure_admin_without_env_does_nothing(monkeypatch):
    monkeypatch.delenv("BIOFM_ADMIN_USER", raising=False)
    call_command("ensure_admin")
    assert not get_user_model().objects.exists()
