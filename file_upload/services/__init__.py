"""Workspace actions: the only code that writes projects, folders and files, split by noun
(Zulip's ``zerver/actions/`` layout):

- ``levels.py``: effective access levels (``effective_level``, ``refresh_effective_levels``);
- ``projects.py``: projects and members; ``folders.py``: folders;
- ``files.py``: storing (``store_file``, every front door ends here), editing, trashing, moving;
- ``parsing.py``: format extraction and index builds, and their stale sweeps;
- ``saved_searches.py``: saved searches;
- ``saving.py``: a write whose name must be free (``unique_name``) and an audited edit
  (``saving_changes``);
- ``queueing.py``: the tasks they queue, by name, after commit.

Views, tasks, management commands and the other front doors (tus, NCBI import, WebDAV) call
these; every write records its audit event in the same transaction. Every public name is
re-exported here, so ``from file_upload import services`` / ``services.store_file`` keep working.
"""

from __future__ import annotations

from ..metadata import METADATA_FIELD_NAMES
from . import queueing
from .files import (
    OnConflict,
    check_name_free,
    existing_file,
    fill_checksums,
    free_name,
    move_file,
    normalise_tags,
    parse_on_conflict,
    soft_delete_file,
    store_file,
    update_file,
)
from .folders import (
    Restored,
    create_folder,
    delete_folder,
    folder_ancestors,
    restore_from_trash,
    update_folder,
)
from .levels import (
    REFRESH_CHUNK,
    SENSITIVE_FILE_FIELDS,
    changes_of,
    effective_level,
    refresh_effective_levels,
)
from .parsing import (
    index_file,
    mate_files,
    parse_file,
    request_reparse,
    requeue_stale_indexes,
    requeue_stale_parses,
)
from .projects import (
    create_project,
    delete_project,
    project_usage,
    remove_project_member,
    set_project_member,
    update_project,
)
from .saved_searches import (
    delete_saved_search,
    save_search,
    update_saved_search,
)
from .saving import saving_changes, unique_name

__all__ = [
    "METADATA_FIELD_NAMES",
    "OnConflict",
    "Restored",
    "restore_from_trash",
    "REFRESH_CHUNK",
    "SENSITIVE_FILE_FIELDS",
    "changes_of",
    "check_name_free",
    "create_folder",
    "create_project",
    "delete_folder",
    "delete_project",
    "delete_saved_search",
    "effective_level",
    "existing_file",
    "fill_checksums",
    "folder_ancestors",
    "free_name",
    "index_file",
    "mate_files",
    "move_file",
    "normalise_tags",
    "parse_file",
    "parse_on_conflict",
    "project_usage",
    "queueing",
    "refresh_effective_levels",
    "remove_project_member",
    "request_reparse",
    "requeue_stale_indexes",
    "requeue_stale_parses",
    "save_search",
    "saving_changes",
    "set_project_member",
    "soft_delete_file",
    "store_file",
    "unique_name",
    "update_file",
    "update_folder",
    "update_project",
    "update_saved_search",
]
