"""A Python client generated from the OpenAPI schema by openapi-python-client, unmodified, reads
every GET operation of a live gunicorn with a token: each answer must parse into the generated
models (a body that does not match its schema raises here), and none may be a 5xx."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
import uuid

import pytest

from tests.processes import ROOT

GENERATOR = ROOT / ".venv" / "bin" / "openapi-python-client"


@pytest.mark.skipif(not GENERATOR.exists(), reason="openapi-python-client (requirements-dev.txt) is not installed")
def test_every_read_operation_parses(gunicorn, make_user, tmp_path, monkeypatch):
    from rest_framework.authtoken.models import Token

    from file_upload import services
    from file_upload.tests.factories import make_file, make_folder

    user = make_user("reader")
    project = services.create_project(owner=user, name="client-project")  # audited, as through the API
    folder = make_folder(project, "reads")
    file = make_file(project, "a.fastq", b"@r\nA\n+\nI\n", folder=folder)
    token = Token.objects.create(user=user).key

    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(_schema(gunicorn.url)))
    env = {"PATH": f"{ROOT / '.venv' / 'bin'}:/usr/bin:/bin"}
    target = tmp_path / "biofm_api"
    subprocess.run(
        [str(GENERATOR), "generate", "--path", str(schema), "--output-path", str(target), "--meta", "none"],
        check=True, capture_output=True, env=env, timeout=300,
    )  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    client_module = importlib.import_module("biofm_api.client")
    api = importlib.import_module("biofm_api.api")
    client = client_module.AuthenticatedClient(base_url=gunicorn.url, token=token, prefix="Token")
    ids = {"projects": project.id, "folders": folder.id, "files": file.id}

    called = []
    for tag in pkgutil.iter_modules(api.__path__):
        package = importlib.import_module(f"biofm_api.api.{tag.name}")
        for op in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"biofm_api.api.{tag.name}.{op.name}")
            if getattr(module, "_get_kwargs", None) is None or '"method": "get"' not in inspect.getsource(
                module._get_kwargs
            ):
                continue
            arguments = {}
            for name, parameter in inspect.signature(module.sync_detailed).parameters.items():
                if name == "client" or parameter.default is not inspect.Parameter.empty:
                    continue  # optional query parameters stay unset
                arguments[name] = _value(name, parameter.annotation, ids.get(tag.name, file.id))
            response = module.sync_detailed(client=client, **arguments)
            assert response.status_code < 500, (op.name, response.status_code, response.content[:300])
            called.append((op.name, int(response.status_code)))
    print(f"\nopenapi-python-client: {len(called)} read operations called", file=sys.stderr)
    assert len(called) > 20


def _schema(url: str) -> dict:
    import requests

    return requests.get(f"{url}/api/schema/?format=json", timeout=60).json()


def _value(name: str, annotation: object, default_id: int) -> object:
    text = str(annotation)
    if "UUID" in text:
        return uuid.uuid4()
    if "int" in text:
        return default_id
    if name == "accession":
        return "SRR000001"
    return "a.fastq"
