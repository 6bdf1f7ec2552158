"""Every API route × every principal × objects at each level, direct and by cascade.

The routes come from the URLconf, so a new endpoint is checked without anyone writing a test
for it; a route this test cannot address (an id of a kind it does not know) fails it unless it
is listed in ``EXEMPT`` with a reason. For each route and principal:

- an object the principal cannot see answers 404 — exactly what a missing id answers (status
  and body, the id aside) — and never 403/400/200 (anonymous callers of a signed-in-only route
  get the same 401/403 for both);
- a visible object answers GET with anything but 404, and a change the principal may not make
  with 403 (401/403 for anonymous callers);
- ids of hidden objects in query parameters and request bodies answer exactly like missing ids;
- no response body names an object hidden from the principal.

Who sees what is written out here in plain Python (``Oracle``) from the fixture's shape, not
asked of the policy, so the policy is checked too. Projects, folders and files follow the
oracle; tasks, grants, audit events, uploads, saved searches and the trash follow the policy's
restricting managers (their rules are asserted in their own tests) and are checked for the
hidden = missing and no-names properties.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import get_resolver
from django.urls.resolvers import URLResolver
from rest_framework.test import APIClient

from authentication.models import AccessGrant, AuditEvent
from file_upload.models import File, Folder, Project, ProjectGroup, SavedSearch, Upload
from file_upload.tests.factories import GroupFactory, ProjectFactory, UserFactory, make_file, make_folder, principals

PRINCIPALS = ["anonymous", "plain", "viewer", "editor", "owner", "group", "revoked", "staff", "superuser"]
MISSING_ID = 987_654_321
MISSING_UUID = "00000000-0000-4000-8000-000000000000"
# Query parameters that name an object of each kind, set all at once to a hidden (then a
# missing) id.
FILTERS = {"project": ["project"], "folder": ["folder", "parent", "object"], "file": ["file", "object"]}
# The rest of a request body that names an object, so that validation gets as far as the name.
FILLER = {"url": "GSE1", "task_type": "summary", "subject_type": "user", "subject": "plain"}
# Body fields that name an object of each kind.
REF_FIELDS = {
    "project": ["project"],
    "folder": ["folder", "parent", "parent_folder", "object"],
    "file": ["file", "file_id", "object"],
}

# Routes this test does not address, each with its reason.
EXEMPT = {
    "api/signed/<str:token>/<path:name>": "addressed by an unguessable signed token, not an id; "
    "file_download/tests/test_signed_urls.py covers expiry, tampering and revoked signers",
    "api/schema/": "the API description: the same document for everyone, naming no stored object",
    "api/docs/": "the Swagger page that loads api/schema/",
    "api/auth/app-passwords/<int:pk>/": "the caller's own app passwords, looked up by owner and id (not a "
    "workspace object: the sweep's ids would hit the caller's own); tests/integration/test_webdav.py "
    "checks that another user's id answers exactly like a missing one",
}
FORMAT_SUFFIX = "format suffix: the same view as the route without it"
# Staff operate the service: they read the audit trail and the trash of every project, which
# name objects they do not otherwise see (docs/design.md, "Staff and superusers").
STAFF_READS = ("/api/audit/", "api/^audit/", "/api/trash/", "api/^trash/")

# Non-router routes whose id parameter names a model.
PATH_MODELS = {"pk": File, "upload_id": Upload, "accession": "ncbi"}


def _routes() -> list[tuple[str, Any]]:
    def walk(patterns: list[Any], prefix: str) -> Any:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern), p.callback

    return [(route, cb) for route, cb in walk(get_resolver().url_patterns, "") if route.startswith("api/")]


def _methods(callback: Any) -> list[str]:
    """The methods a route answers, HEAD beside every GET. (DRF adds ``head`` to a viewset's
    ``actions`` only once the route has served a request, so it is not read from there: the
    sweep must not depend on which tests ran before it.)"""
    actions = getattr(callback, "actions", None)
    if actions:
        methods = [m for m in actions if m not in ("put", "head")]  # PUT is PATCH with every field
    else:
        cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        methods = [m for m in ("get", "post", "patch", "delete") if cls is not None and hasattr(cls, m)]
    return methods + (["head"] if "get" in methods else [])


def _params(route: str) -> list[str]:
    return re.findall(r"\(\?P<(\w+)>", route) or re.findall(r"<(?:\w+:)?(\w+)>", route)


def _url(route: str, value: str) -> str:
    url = re.sub(r"\(\?P<\w+>[^)]*\)", value, route)
    url = re.sub(r"<(?:\w+:)?\w+>", value, url)
    return "/" + url.replace("^", "").replace("$", "").replace("api/^", "api/")


# --- the fixture -------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, Any]
    objects: dict[str, Any]  # token name → object
    others: dict[str, list[Any]] = field(default_factory=dict)  # model label → rows


def _build() -> World:
    users: dict[str, Any] = {"anonymous": None, **principals(PRINCIPALS[1:])}
    owner = users["owner"]
    wetlab = GroupFactory(name="zq-wetlab", users=[users["group"]])
    former = GroupFactory(name="zq-former", users=[users["revoked"]])
    roles = {users["viewer"]: "viewer", users["editor"]: "editor"}
    p = ProjectFactory(
        name="zqP-restricted", owner=owner, access_level="restricted", members=roles, groups={former: "viewer"}
    )
    i = ProjectFactory(name="zqI-internal", owner=owner, access_level="internal")
    h = ProjectFactory(name="zqH-hidden", owner=owner, access_level="restricted")
    objs: dict[str, Any] = {"zqP": p, "zqI": i, "zqH": h}
    objs["zqFr"] = make_folder(p, "zqFr-restricted", access_level="restricted")
    objs["zqFi"] = make_folder(p, "zqFi-internal", access_level="internal")
    objs["zqFp"] = make_folder(p, "zqFp-public", access_level="public")
    objs["zqFg"] = make_folder(p, "zqFg-granted")  # inherit → restricted; the group's grant
    objs["zqFs"] = make_folder(p, "zqFs-sub", parent=objs["zqFp"])  # inherit → public, by cascade
    objs["zqFh"] = make_folder(h, "zqFh-hidden")
    objs["zqfroot"] = make_file(p, "zqfroot.txt")  # inherit → restricted
    objs["zqfr"] = make_file(p, "zqfr.txt", folder=objs["zqFr"])
    objs["zqfi"] = make_file(p, "zqfi.txt", folder=objs["zqFi"])
    objs["zqfir"] = make_file(p, "zqfir.txt", folder=objs["zqFi"], access_level="restricted")
    objs["zqfp"] = make_file(p, "zqfp.txt", folder=objs["zqFs"])  # public by a two-level cascade
    objs["zqfg"] = make_file(p, "zqfg.txt", folder=objs["zqFg"])
    objs["zqfI"] = make_file(i, "zqfI.txt")  # internal by the project
    objs["zqfh"] = make_file(h, "zqfh.txt", folder=objs["zqFh"])
    AccessGrant.objects.create(
        subject_group=wetlab, object_type="folder", project=p, folder=objs["zqFg"], permission="view"
    )
    ProjectGroup.objects.filter(group=former).delete()  # "revoked": held a role, holds none now
    former.user_set.remove(users["revoked"])
    # Rows of the other restricted models, owned by the project owner (hidden from most).
    from file_upload import services
    from ml_interface.models import MLTask
    from ncbi_bridge.models import NcbiImport

    trashed = make_file(h, "zqtrash.txt")
    services.soft_delete_file(trashed, actor=owner)
    objs["zqtrash"] = trashed
    world = World(users, objs)
    world.others = {
        "grant": list(AccessGrant.objects.all()),
        "audit": list(AuditEvent.objects.filter(project_id=h.id)[:3]),
        "task": [MLTask.objects.create(task_type="echo", file=objs["zqfh"], submitter=owner, status="done")],
        "saved": [SavedSearch.objects.create(owner=owner, name="zq-saved", query="q=zqfh")],
        "upload": [
            Upload.objects.create(
                owner=owner, project=h, filename="zqupload.txt", length=10, expires_at="2999-01-01T00:00:00Z"
            ),
            # A tus partial upload (concatenation): no target, its owner's alone.
            Upload.objects.create(owner=owner, concat="partial", length=10, expires_at="2999-01-01T00:00:00Z"),
        ],
        "ncbi": [NcbiImport.objects.create(accession="GSE424242", kind="geo", project=h, folder=objs["zqFh"])],
        "trash": [trashed],
    }
    return world


class Oracle:
    """Who sees and may change what in the fixture, written from the design's rules."""

    LEVEL = {"zqP": "restricted", "zqI": "internal", "zqH": "restricted",
             "zqFr": "restricted", "zqFi": "internal", "zqFp": "public", "zqFg": "restricted", "zqFs": "public",
             "zqFh": "restricted", "zqfroot": "restricted", "zqfr": "restricted", "zqfi": "internal",
             "zqfir": "restricted", "zqfp": "public", "zqfg": "restricted", "zqfI": "internal",
             "zqfh": "restricted", "zqtrash": "restricted"}  # fmt: skip
    PROJECT = {name: ("zqH" if name in ("zqH", "zqFh", "zqfh", "zqtrash") else "zqI" if name in ("zqI", "zqfI")
                      else "zqP") for name in LEVEL}  # fmt: skip
    CONTENTS = {"zqP": ["zqFr", "zqFi", "zqFp", "zqFg", "zqFs", "zqfroot", "zqfr", "zqfi", "zqfir", "zqfp", "zqfg"],
                "zqI": ["zqfI"], "zqH": ["zqFh", "zqfh"]}  # fmt: skip

    @classmethod
    def role(cls, who: str, name: str) -> str | None:
        project = cls.PROJECT[name]
        if who in ("owner", "superuser"):
            return "manage"
        if project == "zqP" and who in ("viewer", "editor"):
            return "edit" if who == "editor" else "view"
        if who == "group" and name in ("zqFg", "zqfg"):
            return "view"
        return None

    @classmethod
    def sees(cls, who: str, name: str) -> bool:
        """Sees the object itself (for a project: in full)."""
        if name == "zqtrash":
            return who in ("owner", "superuser")  # trashed: live routes never find it
        level = cls.LEVEL[name]
        return cls.role(who, name) is not None or level == "public" or (level == "internal" and who != "anonymous")

    @classmethod
    def reaches(cls, who: str, name: str) -> bool:
        """Can tell the object exists: sees it, or (a project) sees something inside."""
        if name in cls.CONTENTS:
            return cls.sees(who, name) or any(cls.sees(who, inside) for inside in cls.CONTENTS[name])
        return cls.sees(who, name)

    @classmethod
    def may_edit(cls, who: str, name: str) -> bool:
        if name in cls.CONTENTS:  # projects: their managers
            return cls.role(who, name) == "manage"
        return cls.role(who, name) in ("edit", "manage")

    @classmethod
    def may_delete(cls, who: str, name: str) -> bool:
        return cls.role(who, name) == "manage"  # the owner owns every file here


# --- the test ----------------------------------------------------------------------------------


@dataclass
class Tally:
    checks: int = 0
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, message: str) -> None:
        self.checks += 1
        if not ok:
            self.failures.append(message)


def _body(response: Any) -> str:
    content = getattr(response, "streaming_content", None)
    if content is not None:
        return b"".join(content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _normal(text: str, value: str) -> str:
    return re.sub(rf"(?<![0-9a-f-]){re.escape(value)}(?![0-9a-f-])", "<ID>", text)


def _request(client: APIClient, method: str, url: str, data: Any = None) -> Any:
    if "/api/uploads/" in url and url != "/api/uploads/":  # tus: HEAD reads, PATCH appends bytes
        headers = {"HTTP_TUS_RESUMABLE": "1.0.0", "HTTP_UPLOAD_OFFSET": "0"}
        if method == "patch":
            return client.patch(url, b"x", content_type="application/offset+octet-stream", **headers)
        return getattr(client, "head" if method == "get" else method)(url, **headers)
    if url == "/api/uploads/" and method == "post":  # tus creation: the target is in Upload-Metadata
        import base64

        pairs = {"filename": "zq.txt", **{k: str(v) for k, v in (data or {}).items() if k in ("project", "folder")}}
        metadata = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())
        return client.post(url, HTTP_TUS_RESUMABLE="1.0.0", HTTP_UPLOAD_LENGTH="1", HTTP_UPLOAD_METADATA=metadata)
    if method in ("get", "head", "delete"):
        return getattr(client, method)(url, data)
    return getattr(client, method)(url, json.dumps(data or {}), content_type="application/json")


@pytest.mark.timeout(900)
def test_every_route_every_principal(db, capsys, settings):
    settings.BIOFM_NCBI_BASE_URL = "http://127.0.0.1:9/"  # never leave the machine
    world = _build()
    tally = Tally()
    clients = {}
    for who, user in world.users.items():
        clients[who] = APIClient()
        if user is not None:
            clients[who].force_authenticate(user)
    names = {name: (obj.name if hasattr(obj, "name") else name) for name, obj in world.objects.items()}
    hidden_names = {
        who: [names[n] for n in world.objects if not Oracle.reaches(who, n) and n != "zqtrash"] for who in PRINCIPALS
    }

    def scan(who: str, response: Any, where: str) -> str:
        text = _body(response)
        operator_view = who == "staff" and any(where.split("?")[0].split(" ")[-1].startswith(p) for p in STAFF_READS)
        leaked = [name for name in hidden_names[who] if name in text and not operator_view]
        tally.check(not leaked, f"{where} as {who}: the body names hidden {leaked}")
        tally.check(response.status_code < 500, f"{where} as {who}: {response.status_code}")
        return text

    def compare(who: str, where: str, hidden: Any, missing: Any, hidden_value: str, missing_value: str) -> None:
        """The answer about a hidden object is the answer about a missing one, the id aside
        (two successful creations that ignored the field differ only in what they created)."""
        ht, mt = scan(who, hidden, where), scan(who, missing, where + " (missing)")
        if who == "staff" and any(where.split("?")[0].split(" ")[-1].startswith(p) for p in STAFF_READS):
            return  # the operator's view of every project
        if hidden.status_code == missing.status_code == 201:
            tally.check(True, where)
            return
        same = (hidden.status_code, _normal(ht, hidden_value)) == (
            missing.status_code,
            _normal(_normal(mt, missing_value), hidden_value),
        )
        tally.check(
            same, f"{where} as {who}: hidden {hidden.status_code} {ht[:160]} ≠ missing {missing.status_code} {mt[:160]}"
        )

    missing_answers: dict[tuple[str, str, str], tuple[int, str]] = {}

    def same_as_missing(who: str, method: str, route: str, hidden_value: str, missing_value: str, data: Any = None):
        client = clients[who]
        hidden = _request(client, method, _url(route, hidden_value), data)
        where = f"{method.upper()} {_url(route, hidden_value)}"
        key = (who, method, route)
        if key not in missing_answers:  # the same for every hidden object of the route
            missing = _request(client, method, _url(route, missing_value), data)
            missing_answers[key] = (
                missing.status_code,
                _normal(scan(who, missing, where + " (missing)"), missing_value),
            )
        missing_status, missing_text = missing_answers[key]
        hidden_text = scan(who, hidden, where)
        allowed = {404} | ({401, 403} if who == "anonymous" else set())
        tally.check(hidden.status_code in allowed, f"{where} as {who}: hidden answered {hidden.status_code}")
        tally.check(
            (hidden.status_code, _normal(hidden_text, hidden_value)) == (missing_status, missing_text),
            f"{where} as {who}: hidden {hidden.status_code} {hidden_text[:120]} "
            f"≠ missing {missing_status} {missing_text[:120]}",
        )

    routes = _routes()
    covered, exempt = 0, []
    for route, callback in routes:
        if route in EXEMPT:
            exempt.append((route, EXEMPT[route]))
            continue
        if "(?P<format>" in route:
            exempt.append((route, FORMAT_SUFFIX))
            continue
        params = [p for p in _params(route)]
        methods = _methods(callback)
        cls = getattr(callback, "cls", None)
        if not params:
            covered += 1
            base = "/" + route.replace("^", "").replace("$", "")
            for who in PRINCIPALS:
                if "get" in methods:
                    scan(who, clients[who].get(base), f"GET {base}")
                for kind, key in (("project", "zqH"), ("folder", "zqFh"), ("file", "zqfh")):
                    if Oracle.reaches(who, key):
                        continue
                    hidden_id = world.objects[key].id
                    if "get" in methods:
                        h = clients[who].get(base, {**dict.fromkeys(FILTERS[kind], hidden_id), "object_type": kind})
                        m = clients[who].get(base, {**dict.fromkeys(FILTERS[kind], MISSING_ID), "object_type": kind})
                        compare(
                            who, f"GET {base}?<{kind} filters>=<hidden {kind}>", h, m, str(hidden_id), str(MISSING_ID)
                        )
                    for method in [m for m in methods if m in ("post", "patch")]:

                        def body(value: int, kind: str = kind) -> dict[str, Any]:
                            name = f"zq-new-{uuid.uuid4().hex[:8]}"
                            return {
                                **dict.fromkeys(REF_FIELDS[kind], value),
                                **FILLER,
                                "object_type": kind,
                                "name": name,
                            }

                        h = _request(clients[who], method, base, body(hidden_id))
                        m = _request(clients[who], method, base, body(MISSING_ID))
                        compare(
                            who,
                            f"{method.upper()} {base} naming a hidden {kind}",
                            h,
                            m,
                            str(hidden_id),
                            str(MISSING_ID),
                        )
            continue
        if len(params) != 1:
            tally.check(False, f"{route}: not covered (several parameters) and not exempted")
            continue
        param = params[0]
        model = None
        if cls is not None and getattr(cls, "queryset", None) is not None and param == "pk":
            model = cls.queryset.model
        basename = route.split("/")[1].lstrip("^") if route.startswith("api/^") else ""
        if basename == "trash" or route.endswith("/restore/$"):
            model = "trash"
        elif model is None:
            model = PATH_MODELS.get(param)
        covered += 1
        if model in (Project, Folder, File):
            prefix = {Project: "zq", Folder: "zqF", File: "zqf"}[model]
            candidates = [n for n in world.objects if n.startswith(prefix) and n != "zqtrash"]
            candidates = [n for n in candidates if isinstance(world.objects[n], model)]
            for name in candidates:
                obj = world.objects[name]
                for who in PRINCIPALS:
                    for method in methods:
                        # A project seen from outside is listed and shown (name and link); its
                        # members, rules, report and changes are for those who see it in full.
                        detail_get = route.endswith("(?P<pk>[^/.]+)/$") and method in ("get", "head")
                        visible = (
                            Oracle.reaches(who, name) if model is Project and detail_get else Oracle.sees(who, name)
                        )
                        if not visible:
                            same_as_missing(who, method, route, str(obj.id), str(MISSING_ID), {})
                            continue
                        url = _url(route, str(obj.id))
                        if method in ("get", "head"):
                            response = getattr(clients[who], method)(url)
                            scan(who, response, f"{method.upper()} {url}")
                            found = response.status_code != 404
                            tally.check(found, f"{method.upper()} {url} as {who}: a visible object answered 404")
                        elif route.endswith("(?P<pk>[^/.]+)/$") and method in ("patch", "delete"):
                            may = Oracle.may_edit if method == "patch" else Oracle.may_delete
                            if may(who, name):
                                continue  # allowed: not exercised here (it would change the fixture)
                            response = _request(clients[who], method, url, {})
                            scan(who, response, f"{method.upper()} {url}")
                            expected = {403} | ({401} if who == "anonymous" else set())
                            status = response.status_code
                            tally.check(
                                status in expected, f"{method.upper()} {url} as {who}: forbidden answered {status}"
                            )
        else:
            rows = world.others.get({Upload: "upload", "ncbi": "ncbi", "trash": "trash"}.get(model, ""), None)
            if rows is None:
                label = getattr(model, "_meta", None) and model._meta.label_lower
                rows = {
                    "authentication.accessgrant": world.others["grant"],
                    "authentication.auditevent": world.others["audit"],
                    "ml_interface.mltask": world.others["task"],
                    "file_upload.savedsearch": world.others["saved"],
                }.get(label)
            if rows is None:
                tally.check(False, f"{route}: parameter {param} of an unknown kind — cover it here or exempt it")
                continue
            for row in rows:
                value = row.accession if model == "ncbi" else str(row.pk)
                missing = "GSE999999999" if model == "ncbi" else MISSING_UUID if model is Upload else str(MISSING_ID)
                for who in PRINCIPALS:
                    if model == "trash":
                        from access import policy

                        visible = policy.trashed_files(world.users[who]).filter(pk=row.pk).exists()
                    elif model == "ncbi":
                        visible = who in ("owner", "superuser")
                    else:
                        visible = type(row).objects.restrict(world.users[who], "view").filter(pk=row.pk).exists()
                    for method in methods:
                        if visible:
                            if method == "get":
                                scan(who, clients[who].get(_url(route, value)), f"GET {_url(route, value)}")
                            continue
                        same_as_missing(who, method, route, value, missing, {})
    tally.checks += 0
    with capsys.disabled():
        print(
            f"\naccess sweep: {len(routes)} routes, {covered} covered, {len(exempt)} exempt "
            f"({len([e for e in exempt if e[1] != FORMAT_SUFFIX])} by reason, "
            f"{len([e for e in exempt if e[1] == FORMAT_SUFFIX])} format suffixes); "
            f"{tally.checks} route×principal×object checks, {len(tally.failures)} failures"
        )
        for route, reason in exempt:
            if reason != FORMAT_SUFFIX:
                print(f"  exempt {route}: {reason}")
    if tally.failures:
        import os

        with open(os.environ.get("BIOFM_ACCESS_SWEEP_LOG", "/dev/null"), "w") as log:
            log.write("\n".join(tally.failures))
    assert not tally.failures, "\n".join(tally.failures[:80])


def test_every_api_viewset_derives_from_the_restricted_base():
    from access.viewsets import RestrictedViewSetMixin

    viewsets = {cb.cls for route, cb in _routes() if getattr(cb, "actions", None)}
    assert viewsets, "no viewsets found"
    loose = sorted(cls.__name__ for cls in viewsets if not issubclass(cls, RestrictedViewSetMixin))
    assert loose == []


def test_every_model_a_client_can_name_has_a_restricting_manager(db):
    from access.querysets import RestrictedQuerySet
    from cellxgene_bridge.models import Publication
    from ml_interface.models import MLTask
    from ncbi_bridge.models import NcbiImport

    user = UserFactory(username="someone")
    named = [Project, Folder, File, AccessGrant, AuditEvent, MLTask, NcbiImport, Upload, SavedSearch, Publication]
    for model in named:
        assert isinstance(model.objects.all(), RestrictedQuerySet), model
        model.objects.restrict(user, "view").count()  # every one has a rule
        assert model.objects.restrict(None, "view").count() == 0 or model in (Project, Folder, File)


def _same_answer(tally: Tally, where: str, hidden: Any, missing: Any, hidden_value: str, missing_value: str) -> None:
    """A hidden object named in a body or header answers exactly like a missing one (404, or
    401/403 for a caller refused before any look-up), the id aside."""
    ht, mt = _body(hidden), _body(missing)
    tally.check(hidden.status_code in (401, 403, 404), f"{where}: hidden answered {hidden.status_code} {ht[:160]}")
    tally.check(
        (hidden.status_code, _normal(ht, hidden_value)) == (missing.status_code, _normal(mt, missing_value)),
        f"{where}: hidden {hidden.status_code} {ht[:160]} ≠ missing {missing.status_code} {mt[:160]}",
    )


@pytest.mark.timeout(300)
def test_hidden_ids_in_the_bodies_of_moves_restores_and_tus_concatenation(db):
    """The sweep above names hidden objects in the bodies of routes without an id; these routes
    take one id in the path and another in the body or a header — a move's target folder or
    project (with each ``on_conflict``), a restore of a whole deleted folder, a tus final
    upload's partial uploads — and must answer about the second exactly as about a missing one.
    A partial upload is its owner's alone: another user naming it (by guessing its URL) would
    otherwise read its bytes through a file of their own."""
    import base64

    from file_upload import concat, services, uploads

    world = _build()
    objs, users = world.objects, world.users
    gone = make_folder(objs["zqH"], "zqFgone")
    batch_file = make_file(objs["zqH"], "zqbatch.txt", folder=gone)
    services.delete_folder(gone, actor=users["owner"])
    partial = concat.create_partial(owner=users["owner"], length=1, raw_metadata="")
    uploads.part_path(partial).write_bytes(b"x")
    Upload.objects.filter(id=partial.id).update(offset=1)
    metadata = ",".join(
        f"{k} {base64.b64encode(str(v).encode()).decode()}"
        for k, v in {"filename": "zqc.txt", "project": objs["zqP"].id}.items()
    )
    tally = Tally()
    for who in PRINCIPALS:
        client = APIClient()
        if users[who] is not None:
            client.force_authenticate(users[who])
        hidden_folder, hidden_project = str(objs["zqFh"].id), str(objs["zqH"].id)
        if not Oracle.reaches(who, "zqH"):
            for name in [n for n in world.objects if n.startswith("zqf") and n != "zqtrash"]:
                if not (Oracle.sees(who, name) and Oracle.may_edit(who, name)):
                    continue
                url = f"/api/files/{objs[name].id}/move/"
                for on_conflict in ("refuse", "keep_both", "replace"):
                    bodies = [
                        (hidden_folder, lambda v, c=on_conflict: {"folder": int(v), "on_conflict": c}),
                        (
                            hidden_project,
                            lambda v, c=on_conflict: {"project": int(v), "folder": None, "on_conflict": c},
                        ),
                    ]
                    for hidden_value, body in bodies:
                        h = client.post(url, body(hidden_value), format="json")
                        m = client.post(url, body(str(MISSING_ID)), format="json")
                        where = f"POST {url} naming a hidden {'folder' if hidden_value == hidden_folder else 'project'}"
                        _same_answer(tally, f"{where} ({on_conflict}) as {who}", h, m, hidden_value, str(MISSING_ID))
            for name in [n for n in world.objects if n.startswith("zqF")]:
                if not (Oracle.sees(who, name) and Oracle.may_edit(who, name)):
                    continue
                url = f"/api/folders/{objs[name].id}/"
                for on_conflict in ("refuse", "keep_both"):
                    h = client.patch(url, {"parent": int(hidden_folder), "on_conflict": on_conflict}, format="json")
                    m = client.patch(url, {"parent": MISSING_ID, "on_conflict": on_conflict}, format="json")
                    _same_answer(tally, f"PATCH {url} parent as {who}", h, m, hidden_folder, str(MISSING_ID))
        from access import policy

        if not policy.trashed_files(users[who]).filter(pk=batch_file.pk).exists():
            for body in ({}, {"whole_folder": True}):
                h = client.post(f"/api/files/{batch_file.id}/restore/", body, format="json")
                m = client.post(f"/api/files/{MISSING_ID}/restore/", body, format="json")
                _same_answer(tally, f"POST restore {body} as {who}", h, m, str(batch_file.id), str(MISSING_ID))
        if who != "owner":
            headers = {"HTTP_TUS_RESUMABLE": "1.0.0", "HTTP_UPLOAD_METADATA": metadata}
            h = client.post("/api/uploads/", HTTP_UPLOAD_CONCAT=f"final;/api/uploads/{partial.id}/", **headers)
            m = client.post("/api/uploads/", HTTP_UPLOAD_CONCAT=f"final;/api/uploads/{MISSING_UUID}/", **headers)
            _same_answer(
                tally, f"POST /api/uploads/ final naming a hidden partial as {who}", h, m, str(partial.id), MISSING_UUID
            )
    assert not File.objects.alive().filter(name="zqc.txt").exists()
    assert File.objects.get(id=batch_file.id).deleted_at is not None
    assert Upload.objects.get(id=partial.id).state == "active"
    assert tally.checks > 50
    assert not tally.failures, "\n".join(tally.failures[:80])
