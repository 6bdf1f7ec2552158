import { defineStore } from 'pinia'
import { ref } from 'vue'
import { ApiError, fallbackMessage } from '@/api/client'
import * as filesApi from '@/api/files'
import * as foldersApi from '@/api/folders'
import * as projectsApi from '@/api/projects'
import type { DataFile, Folder, FolderDetail, Project } from '@/api/types'

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

  function reset(): void {
    loadSeq += 1
    project.value = null
    folder.value = null
    subfolders.value = []
    files.value = []
    fileCount.value = 0
  }

  return {
    project,
    folder,
    subfolders,
    files,
    fileCount,
    treeVersion,
    loadLocation,
    refreshFiles,
    refreshIfShowing,
    refreshFoldersIfShowing,
    reloadCurrent,
    createFolder,
    reset,
  }
})
