/**
 * Files from a drop, with the folders they sat in: dropping a folder gives every file inside
 * it (at any depth) with `dirs` = the folder names from the dropped folder down, so the
 * structure can be created on the server before the files go up.
 */

export interface DroppedFile {
  file: File
  /** Folder names from the dropped top folder down to the file's own; [] for loose files. */
  dirs: string[]
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject))
}

/** All entries of a directory: readEntries answers in batches (100 in Chrome) until empty. */
async function readAll(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader()
  const all: FileSystemEntry[] = []
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    )
    if (!batch.length) return all
    all.push(...batch)
  }
}

async function walk(entry: FileSystemEntry, dirs: string[], out: DroppedFile[]): Promise<void> {
  if (entry.isFile) {
    out.push({ file: await fileOf(entry as FileSystemFileEntry), dirs })
  } else if (entry.isDirectory) {
    const children = await readAll(entry as FileSystemDirectoryEntry)
    for (const child of children) await walk(child, [...dirs, entry.name], out)
  }
}

/**
 * Reads a drop. The entries are taken synchronously (the browser empties the DataTransfer
 * once the drop handler returns); walking the folders happens afterwards.
 */
export function filesFromDataTransfer(dt: DataTransfer): Promise<DroppedFile[]> {
  const items = Array.from(dt.items ?? []).filter((item) => item.kind === 'file')
  const entries = items.map((item) =>
    typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null,
  )
  if (!items.length || entries.every((e) => !e || e.isFile)) {
    // No folders in the drop: the plain file list is all there is.
    return Promise.resolve(Array.from(dt.files ?? []).map((file) => ({ file, dirs: [] })))
  }
  const loose = items.map((item, i) => (entries[i] ? null : item.getAsFile()))
  return (async () => {
    const out: DroppedFile[] = []
    for (let i = 0; i < items.length; i++) {
      const entry = entries[i]
      if (entry) await walk(entry, [], out)
      else if (loose[i]) out.push({ file: loose[i]!, dirs: [] })
    }
    return out
  })()
}
