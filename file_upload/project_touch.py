"""A project's ``updated_at`` follows its content: it moves when a file arrives in it, leaves it
for the trash, comes back, or is moved into it. (Metadata edits and parse results do not count:
"Updated" on the project list answers "when did files change here".)

Public surface: ``touch_project_on_file_change`` (connected in ``FileUploadConfig.ready``).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from .models import File, Project

# A save that writes one of these changed where the file is, or whether it is there at all.
_PLACEMENT = frozenset({"deleted_at", "project", "folder"})


def touch_project_on_file_change(
    sender: type[File], instance: File, created: bool, update_fields: frozenset[str] | None, **_: Any
) -> None:
    if created or (update_fields is not None and _PLACEMENT & set(update_fields)):
        Project.objects.filter(id=instance.project_id).update(updated_at=timezone.now())
