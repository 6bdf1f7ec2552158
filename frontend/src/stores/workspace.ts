import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError, describeError, fallbackMessage } from '@/api/client'
import * as filesApi from '@/api/files'
import * as foldersApi from '@/api/folders'
import * as projectsApi from '@/api/projects'
import type { DataFile, Folder, FolderDetail, Project } from '@/api/types'
import type { ConflictChoice } from '@/stores/conflicts'

/**
 * Where the user is: the current project, the current folder (null: project root), its
 * subfolders and its files. `treeVersion` bumps when the folder tree must be reloaded.
 */
export const useWorkspaceStore = defineStore('workspace', () => {
  const project = ref<Project | null>(null)
  const folder = ref<FolderDetail | null>(null)
  const subfolders = ref<Folder[]>([])
  const files = ref<DataFile[]>([])
  const fileCount = ref(0)
  const treeVersion = ref(0)
  /** Selected rows of the listing: "file:<id>" and "folder:<id>" keys, in listing order. */
  const selected = ref<string[]>([])
  // Guards against an older, slower load overwriting a newer location.
  let loadSeq = 0

  function folderId(): number | null {
    return folder.value?.id ?? null
  }

  async function loadLocation(projectId: number, folderIdArg: number | null): Promise<void> {
    const seq = ++loadSeq
    const projectChanged = project.value?.id !== projectId
    const [p, f, subs, fileList] = await Promise.all([
      projectChanged ? projectsApi.getProject(projectId) : Promise.resolve(project.value!),
      folderIdArg === null ? Promise.resolve(null) : foldersApi.getFolder(folderIdArg),
      foldersApi.listFolders(projectId, folderIdArg),
      filesApi.listFiles(projectId, folderIdArg),
    ])
    if (seq !== loadSeq) return
    if (f && f.project !== projectId) {
      // A folder id from another project: treat it as not found rather than mixing them.
      throw new ApiError(404, fallbackMessage(404), 'not_found')
    }
    if (project.value?.id !== p.id || (folder.value?.id ?? null) !== (f?.id ?? null)) {
      selected.value = []
    }
    project.value = p
    folder.value = f
    subfolders.value = subs.results
    files.value = fileList.results
    fileCount.value = fileList.count
    if (projectChanged) treeVersion.value += 1
  }

  async function refreshFiles(): Promise<void> {
    if (!project.value) return
    const data = await filesApi.listFiles(project.value.id, folderId())
    files.value = data.results
    fileCount.value = data.count
  }

  /** Refresh the listing if the user is looking at that location right now. */
  async function refreshIfShowing(projectId: number, folderIdArg: number | null): Promise<void> {
    if (project.value?.id === projectId && folderId() === folderIdArg) await refreshFiles()
  }

  /** Reload the subfolders (and the rail's tree) after folders were created elsewhere. */
  async function refreshFoldersIfShowing(
    projectId: number,
    folderIdArg: number | null,
  ): Promise<void> {
    if (project.value?.id !== projectId) return
    treeVersion.value += 1
    if (folderId() !== folderIdArg) return
    const data = await foldersApi.listFolders(projectId, folderIdArg)
    if (project.value?.id === projectId && folderId() === folderIdArg)
      subfolders.value = data.results
  }

  /**
   * Fetch the current project, folder and files again (after their access level changed,
   * which changes the badges of all three).
   */
  async function reloadCurrent(): Promise<void> {
    if (!project.value) return
    const projectId = project.value.id
    const currentFolder = folderId()
    const seq = loadSeq
    const [p, f, fileList] = await Promise.all([
      projectsApi.getProject(projectId),
      currentFolder === null ? Promise.resolve(null) : foldersApi.getFolder(currentFolder),
      filesApi.listFiles(projectId, currentFolder),
    ])
    if (seq !== loadSeq) return
    project.value = p
    folder.value = f
    files.value = fileList.results
    fileCount.value = fileList.count
  }

  async function createFolder(name: string): Promise<Folder> {
    if (!project.value) throw new Error('no current project')
    const created = await foldersApi.createFolder({
      project: project.value.id,
      parent: folderId(),
      name,
    })
    const data = await foldersApi.listFolders(project.value.id, folderId())
    subfolders.value = data.results
    treeVersion.value += 1
    return created
  }

  // ---- file-manager verbs ----------------------------------------------------------------

  type Item =
    | { kind: 'file'; name: string; file: DataFile }
    | { kind: 'folder'; name: string; folder: Folder }

  function itemFor(key: string): Item | null {
    const [kind, raw] = key.split(':')
    const id = Number(raw)
    if (kind === 'file') {
      const file = files.value.find((f) => f.id === id)
      return file ? { kind, name: file.name, file } : null
    }
    const sub = subfolders.value.find((f) => f.id === id)
    return sub ? { kind: 'folder', name: sub.name, folder: sub } : null
  }

  const selectedItems = computed(() =>
    selected.value.map(itemFor).filter((i): i is Item => i !== null),
  )

  /** Reload the listing and subfolders of the current location and the rail's tree. */
  async function refreshAll(): Promise<void> {
    if (!project.value) return
    const [subs, fileList] = await Promise.all([
      foldersApi.listFolders(project.value.id, folderId()),
      filesApi.listFiles(project.value.id, folderId()),
    ])
    subfolders.value = subs.results
    files.value = fileList.results
    fileCount.value = fileList.count
    const keys = new Set([
      ...subs.results.map((f) => `folder:${f.id}`),
      ...fileList.results.map((f) => `file:${f.id}`),
    ])
    selected.value = selected.value.filter((k) => keys.has(k))
    treeVersion.value += 1
  }

  async function renameItem(key: string, name: string): Promise<void> {
    const item = itemFor(key)
    if (!item) return
    if (item.kind === 'file') await filesApi.updateFile(item.file.id, { name })
    else await foldersApi.updateFolder(item.folder.id, { name })
    await refreshAll()
  }

  /**
   * Moves the items into `target` (folder null: the project's root). Folders move within
   * their project. Returns one sentence per item that could not move.
   */
  async function moveItems(
    keys: string[],
    target: { project: number; folder: number | null },
    onConflict: filesApi.OnConflict = 'refuse',
    choices: Map<string, ConflictChoice> = new Map(),
  ): Promise<{ errors: string[]; moved: number }> {
    const errors: string[] = []
    let moved = 0
    for (const key of keys) {
      const item = itemFor(key)
      if (!item) continue
      // A name taken at the target was decided up front (Replace / Keep both / Skip).
      const choice = choices.get(item.name)
      if (choice === 'skip') continue
      try {
        if (item.kind === 'file') {
          await filesApi.moveFile(item.file.id, target, choice ?? onConflict)
          moved += 1
        } else if (item.folder.project !== target.project) {
          errors.push(`${item.name}: folders move within their project`)
        } else if (item.folder.id === target.folder) {
          errors.push(`${item.name}: a folder can't move into itself`)
        } else {
          // Folders are never replaced or merged: Keep both names this one "name (2)".
          await foldersApi.updateFolder(item.folder.id, {
            parent: target.folder,
            on_conflict: choice === 'keep_both' ? 'keep_both' : 'refuse',
          })
          moved += 1
        }
      } catch (err) {
        errors.push(`${item.name}: ${describeError(err)}`)
      }
    }
    await refreshAll().catch(() => undefined)
    return { errors, moved }
  }

  /** What a delete did, for its Undo. */
  interface Deleted {
    files: number[]
    folders: { id: number; project: number; parent: number | null; name: string }[]
    errors: string[]
  }

  /** Files go to the Trash; folders are removed and the files inside go to the Trash. */
  async function deleteItems(keys: string[]): Promise<Deleted> {
    const done: Deleted = { files: [], folders: [], errors: [] }
    for (const key of keys) {
      const item = itemFor(key)
      if (!item) continue
      try {
        if (item.kind === 'file') {
          await filesApi.deleteFile(item.file.id)
          done.files.push(item.file.id)
        } else {
          await foldersApi.deleteFolder(item.folder.id)
          done.folders.push({
            id: item.folder.id,
            project: item.folder.project,
            parent: item.folder.parent,
            name: item.folder.name,
          })
        }
      } catch (err) {
        done.errors.push(`${item.name}: ${describeError(err)}`)
      }
    }
    await refreshAll().catch(() => undefined)
    return done
  }

  /** Brings back what `deleteItems` removed: files to their folders, a folder as a whole (its
   * files and subfolders); an empty folder is created again. Says what happened. */
  async function undoDelete(deleted: Deleted): Promise<string> {
    const restoreFolder = async (f: Deleted['folders'][number]) => {
      const page = await filesApi.listTrash(1, f.id)
      const first = page.results[0]
      if (first) return filesApi.restoreFile(first.id, true)
      await foldersApi.createFolder({ project: f.project, parent: f.parent, name: f.name })
      return null
    }
    const results = await Promise.all([
      ...deleted.files.map((id) => filesApi.restoreFile(id)),
      ...deleted.folders.map(restoreFolder),
    ])
    await refreshAll()
    const atTop = results.flatMap((r) => r?.to_top_level ?? [])
    if (!atTop.length) return 'Restored'
    return `Restored; ${atTop.join(', ')} went to the project's top level: the folder no longer exists.`
  }

  function reset(): void {
    loadSeq += 1
    project.value = null
    folder.value = null
    subfolders.value = []
    files.value = []
    fileCount.value = 0
    selected.value = []
  }

  return {
    project,
    folder,
    subfolders,
    files,
    fileCount,
    treeVersion,
    selected,
    selectedItems,
    itemFor,
    refreshAll,
    renameItem,
    moveItems,
    deleteItems,
    undoDelete,
    loadLocation,
    refreshFiles,
    refreshIfShowing,
    refreshFoldersIfShowing,
    reloadCurrent,
    createFolder,
    reset,
  }
})
