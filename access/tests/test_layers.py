"""Where the gate lives (docs/decisions/0003-gate-one-policy-module.md): models below, the
access package in the middle, services and views above. Checked on the modules' top-level
imports, which are the ones that run when a module loads."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _modules(package: str) -> list[Path]:
    return [p for p in (ROOT / package).rglob("*.py") if "tests" not in p.parts and "migrations" not in p.parts]


def test_authentication_does_not_import_the_workspace_when_it_loads():
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.startswith("file_upload"))
        for p in _modules("authentication")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_policy_reads_only_models():
    allowed_prefixes = ("django", "__future__", "collections", "contextvars", "dataclasses", "enum", "typing",
                        "functools", "file_upload.models", "authentication.models", "access.")  # fmt: skip
    for path in _modules("access"):
        if path.name in ("policy.py", "querysets.py"):
            loose = sorted(m for m in _imports(path) if not m.startswith(allowed_prefixes))
            assert loose == [], path


def test_models_do_not_import_the_policy():
    for package in ("authentication", "file_upload", "ml_interface", "ncbi_bridge", "cellxgene_bridge"):
        imports = _imports(ROOT / package / "models.py")
        assert not any(m.startswith(("access.policy", "access.viewsets")) for m in imports), package


def test_nothing_imports_the_old_gate_module():
    for package in ("access", "authentication", "file_upload", "file_download", "ml_interface", "ncbi_bridge",
                    "cellxgene_bridge", "file_project"):  # fmt: skip
        for path in (ROOT / package).rglob("*.py"):
            if path != Path(__file__):
                assert "authentication" + ".permissions" not in path.read_text(), path
