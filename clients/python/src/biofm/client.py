"""The HTTP client: one server, one token, JSON errors turned into ``ApiError``, exit codes.

``Client`` is safe to share between threads: each thread gets its own ``requests.Session``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import platformdirs
import requests

from . import __name__ as _package

USER_AGENT = "biofm-cli/0.1.0"


class Exit(IntEnum):
    """Exit codes of the ``biofm`` command (also documented in docs/cli.md)."""

    OK = 0
    ERROR = 1  # anything not listed below
    USAGE = 2  # bad arguments (click's own code)
    AUTH = 3  # not signed in, a bad token, locked out
    NOT_FOUND = 4  # the object does not exist or is not visible to you
    FORBIDDEN = 5  # visible, but you may not do this
    CONFLICT = 6  # a name is taken and the conflict choice does not allow replacing it
    CHECKSUM = 7  # a SHA-256 differs between the two ends
    UNAVAILABLE = 8  # server unreachable, 5xx, or throttled (429)
    INVALID = 9  # the server refused the input (400), or a sample sheet did not validate


_STATUS_EXIT = {401: Exit.AUTH, 403: Exit.FORBIDDEN, 404: Exit.NOT_FOUND, 409: Exit.CONFLICT, 400: Exit.INVALID}


class ApiError(Exception):
    """An error answer from the server (or no answer: ``status`` 0)."""

    def __init__(self, status: int, detail: str, code: str = "", errors: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.errors = errors or {}

    @property
    def exit_code(self) -> Exit:
        if self.code == "locked_out":
            return Exit.AUTH
        if self.status == 0 or self.status >= 500 or self.status == 429:
            return Exit.UNAVAILABLE
        return _STATUS_EXIT.get(self.status, Exit.ERROR)

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status else "no answer"
        extra = ""
        if self.errors:
            extra = "; " + "; ".join(
                f"{k}: {' '.join(map(str, v if isinstance(v, list) else [v]))}" for k, v in self.errors.items()
            )
        return f"{self.detail} ({where}{', ' + self.code if self.code else ''}){extra}"


class ChecksumMismatch(Exception):
    exit_code = Exit.CHECKSUM


def error_from(response: requests.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or response.reason or "error")
    return ApiError(response.status_code, detail, str(body.get("code") or ""), body.get("errors"))


# --- configuration ----------------------------------------------------------------------------


def config_path() -> Path:
    """``config.json`` in the user's config directory (``$XDG_CONFIG_HOME/biofm`` on Linux,
    ``~/Library/Application Support/biofm`` on macOS, ``%APPDATA%\\biofm`` on Windows)."""
    return platformdirs.user_config_path(_package) / "config.json"


def state_dir() -> Path:
    """Where interrupted transfers are remembered (``$XDG_STATE_HOME/biofm`` on Linux)."""
    return platformdirs.user_state_path(_package)


@dataclass
class Settings:
    url: str
    token: str


def load_settings() -> Settings:
    """The server and token: ``BIOFM_URL``/``BIOFM_TOKEN`` first, then the saved login."""
    saved: dict[str, str] = {}
    path = config_path()
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
        except ValueError:
            saved = {}
    return Settings(
        url=(os.environ.get("BIOFM_URL") or saved.get("url") or "").rstrip("/"),
        token=os.environ.get("BIOFM_TOKEN") or saved.get("token") or "",
    )


def save_settings(url: str, token: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url.rstrip("/"), "token": token}, handle)
    os.replace(tmp, path)
    return path


def forget_settings() -> bool:
    path = config_path()
    if path.is_file():
        path.unlink()
        return True
    return False


# --- the client -------------------------------------------------------------------------------


class Client:
    def __init__(self, url: str, token: str = "", timeout: float = 120) -> None:
        if not url:
            raise ApiError(401, "No server: run `biofm login --url URL` or set BIOFM_URL.", "not_configured")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._local = threading.local()

    @classmethod
    def from_settings(cls) -> Client:
        settings = load_settings()
        return cls(settings.url, settings.token)

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            if self.token:
                session.headers["Authorization"] = f"Token {self.token}"
            self._local.session = session
        return session

    def absolute(self, path: str) -> str:
        return urljoin(self.url + "/", path.lstrip("/")) if not path.startswith("http") else path

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The response whatever its status; ``ApiError(0, …)`` when the server does not answer."""
        kwargs.setdefault("timeout", self.timeout)
        try:
            return self.session.request(method, self.absolute(path), **kwargs)
        except requests.RequestException as exc:
            raise ApiError(0, f"{self.url} did not answer: {exc.__class__.__name__}", "unreachable") from exc

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.raw(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_from(response)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.request("POST", path, json=body)
        return response.json() if response.content else None

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body).json()

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every result of a paginated list, following ``next``."""
        params.setdefault("page_size", 500)
        data = self.get(path, **params)
        while True:
            yield from data.get("results", [])
            following = data.get("next")
            if not following:
                return
            data = self.request("GET", following).json()

    # --- the calls the commands use ---

    def login(self, username: str, password: str) -> str:
        response = self.raw("POST", "/api/auth/token/", json={"username": username, "password": password})
        if response.status_code >= 400:
            error = error_from(response)
            if error.status == 400 and error.code == "invalid_credentials":
                error.status = 401  # exit code 3, as for any refused credentials
            raise error
        return str(response.json()["token"])

    def me(self) -> dict[str, Any]:
        return dict(self.get("/api/auth/me/"))

    def project(self, project_id: int) -> dict[str, Any]:
        return dict(self.get(f"/api/projects/{project_id}/"))

    def folder(self, folder_id: int) -> dict[str, Any]:
        return dict(self.get(f"/api/folders/{folder_id}/"))

    def folders(self, project_id: int, parent: int | None | str = "any") -> list[dict[str, Any]]:
        params: dict[str, Any] = {"project": project_id}
        if parent != "any":
            params["parent"] = "null" if parent is None else parent
        return list(self.pages("/api/folders/", **params))

    def files(self, **params: Any) -> list[dict[str, Any]]:
        return list(self.pages("/api/files/", **params))

    def files_in(self, project_id: int, folder_id: int | None) -> list[dict[str, Any]]:
        """The live files directly in a folder (``None``: the project's root)."""
        return self.files(project=project_id, folder="null" if folder_id is None else folder_id)

    def create_folder(self, project_id: int, parent: int | None, name: str) -> dict[str, Any]:
        return dict(self.post("/api/folders/", {"project": project_id, "parent": parent, "name": name}))

    def metadata_fields(self) -> list[dict[str, Any]]:
        return list(self.get("/api/metadata/fields/")["fields"])
