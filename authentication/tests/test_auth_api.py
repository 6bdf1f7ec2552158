from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.mark.django_db
class TestSessionLogin:
    def csrf_client(self) -> tuple[APIClient, str]:
        client = APIClient(enforce_csrf_checks=True)
        response = client.get("/api/auth/csrf/")
        assert response.status_code == 204
        return client, response.cookies["csrftoken"].value

    def test_login_sets_session_and_me_answers(self, alice):
        client, token = self.csrf_client()
        response = client.post(
            "/api/auth/login/", {"username": "alice", "password": "s3cret-pass!"}, format="json", HTTP_X_CSRFTOKEN=token
        )
        assert response.status_code == 200, response.content
        assert response.json()["username"] == "alice"
        me = client.get("/api/auth/me/")
        assert me.status_code == 200
        assert me.json()["username"] == "alice"
        assert me.json()["is_staff"] is False

    def test_login_without_csrf_token_is_refused(self, alice):
        client = APIClient(enforce_csrf_checks=True)
        response = client.post("/api/auth/login/", {"username": "alice", "password": "s3cret-pass!"}, format="json")
        assert response.status_code == 403
        assert "detail" in response.json()
        assert client.get("/api/auth/me/").status_code == 401

    def test_wrong_password_is_a_json_400_and_no_session(self, alice):
        client, token = self.csrf_client()
        response = client.post(
            "/api/auth/login/", {"username": "alice", "password": "nope"}, format="json", HTTP_X_CSRFTOKEN=token
        )
        assert response.status_code == 400
        assert response.json() == {"detail": "Invalid username or password.", "code": "invalid_credentials"}
        assert client.get("/api/auth/me/").status_code == 401

    def test_inactive_user_cannot_log_in(self, make_user):
        make_user("carol", is_active=False)
        client, token = self.csrf_client()
        response = client.post(
            "/api/auth/login/", {"username": "carol", "password": "s3cret-pass!"}, format="json", HTTP_X_CSRFTOKEN=token
        )
        assert response.status_code == 400

    def test_missing_fields_name_each_field(self, db):
        client, token = self.csrf_client()
        response = client.post("/api/auth/login/", {}, format="json", HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"username", "password"}

    def test_logout_ends_the_session(self, alice):
        client, token = self.csrf_client()
        client.post(
            "/api/auth/login/", {"username": "alice", "password": "s3cret-pass!"}, format="json", HTTP_X_CSRFTOKEN=token
        )
        token = client.cookies["csrftoken"].value  # rotated at login
        assert client.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=token).status_code == 204
        assert client.get("/api/auth/me/").status_code == 401


@pytest.mark.django_db
class TestTokens:
    def test_token_for_valid_credentials_authenticates_scripts(self, alice):
        client = APIClient()
        response = client.post("/api/auth/token/", {"username": "alice", "password": "s3cret-pass!"}, format="json")
        assert response.status_code == 200
        token = response.json()["token"]
        assert len(token) == 40
        again = client.post("/api/auth/token/", {"username": "alice", "password": "s3cret-pass!"}, format="json")
        assert again.json()["token"] == token
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.get("/api/auth/me/").json()["username"] == "alice"

    def test_bad_credentials_get_no_token(self, alice):
        response = APIClient().post("/api/auth/token/", {"username": "alice", "password": "x"}, format="json")
        assert response.status_code == 400
        assert "token" not in response.json()

    def test_invalid_token_is_401(self, db):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
        response = client.get("/api/auth/me/")
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"

    def test_anonymous_me_is_401_with_challenge(self, db):
        response = APIClient().get("/api/auth/me/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json()["code"] == "not_authenticated"
