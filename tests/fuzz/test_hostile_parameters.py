"""Every query parameter of every GET operation in the API schema, and every id in a path, is
sent hostile values (numbers past 64 bits, impossible dates, digits Python's ``int`` reads but a
strict parser must not): the answer is a 4xx JSON body or a 2xx, never a 5xx.

Deterministic (no generator): the values that found the 500s, for every parameter the schema
names — a new filter is covered without anyone listing it.
"""

from __future__ import annotations

import re

import pytest
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from file_upload.tests.factories import ProjectFactory, make_file, make_folder

pytestmark = pytest.mark.django_db

HOSTILE = [
    str(2**70),
    str(-(2**70)),
    str(2**63),
    "2020-13-45",
    "2020-02-30",
    "2020-02-30T10:00:00",
    "1_000",
    "٣",  # an Arabic-Indic digit: str.isdigit() and int() accept it
    "1e400",
    "NaN",
    "\x00",
]


def _operations() -> list[tuple[str, list[str]]]:
    """Every GET path of the schema with its query parameters, plus the filters of the view's
    FilterSet (the schema leaves them out where it cannot derive a queryset)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        try:
            view = resolve(_fill(path, 1)).func
        except Resolver404:  # a UUID in the path: no FilterSet there
            view = None
        filterset = getattr(getattr(view, "cls", None), "filterset_class", None)
        if filterset is not None:
            names |= set(filterset.base_filters)
        found.append((path, sorted(names)))
    return found


@pytest.fixture
def root_client(make_user, settings, tmp_path):
    settings.NCBI_EUTILS_BASE = settings.ENA_PORTAL_BASE = settings.NCBI_SRA_READS_BASE = "http://127.0.0.1:9"
    settings.NCBI_MAX_RETRIES = 0
    settings.CELLXGENE_DATA_DIR = tmp_path / "cellxgene"
    root = make_user("root", is_staff=True, is_superuser=True)
    project = ProjectFactory(name="P", owner=root)
    folder = make_folder(project)
    make_file(project, folder=folder)
    client = APIClient()
    client.force_authenticate(root)
    return client, project


def _fill(path: str, object_id: int) -> str:
    return re.sub(r"\{[^}]+\}", str(object_id), path)


def test_no_query_parameter_value_answers_a_server_error(root_client):
    client, project = root_client
    failures, checks = [], 0
    for path, names in _operations():
        url = _fill(path, project.id)
        for name in names:
            for value in HOSTILE:
                checks += 1
                response = client.get(url, {name: value})
                if response.status_code >= 500:
                    failures.append(f"{url}?{name}={value!r}: {response.status_code}")
                elif response.status_code >= 400:
                    assert response["Content-Type"].startswith("application/json"), (url, name, value)
    print(f"{checks} parameter checks")
    assert not failures, "\n".join(failures)


def test_no_id_in_a_path_answers_a_server_error(root_client):
    client, _ = root_client
    failures = []
    for path, _names in _operations():
        if "{" not in path:
            continue
        for value in (str(2**70), str(2**63), "٣"):
            url = _fill(path, 0).replace("/0/", f"/{value}/")
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(f"{url}: {response.status_code}")
    assert not failures, "\n".join(failures)
