import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus, { ElMessage } from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { mockFetch, page } from '@/test/http'
import { dataFile, plainFolder, project } from '@/test/fixtures'
import { useWorkspaceStore } from '@/stores/workspace'
import ConflictDialog from './ConflictDialog.vue'
import MoveDialog from './MoveDialog.vue'

vi.mock('element-plus', async (importOriginal) => {
  const actual = await importOriginal<typeof import('element-plus')>()
  return { ...actual, ElMessage: { success: vi.fn(), error: vi.fn(), info: vi.fn() } }
})

beforeEach(() => {
  vi.clearAllMocks()
  document.body.innerHTML = ''
  setActivePinia(createPinia())
})

function button(name: string): HTMLButtonElement {
  const found = [...document.body.querySelectorAll('button')].find(
    (b) => b.textContent?.trim() === name,
  )
  if (!found) throw new Error(`no button ${name}`)
  return found as HTMLButtonElement
}

async function openAndChoose(moveTo: 'keep_both' | 'skip') {
  const moved = dataFile({ name: 'sample1 (2).fastq.gz', folder: null })
  const { calls } = mockFetch({
    'GET /api/projects/': { body: page([project({ id: 1, name: 'Atlas' })]) },
    'GET /api/folders/': { body: page([]) },
    'POST /api/files/conflicts/': {
      body: { conflicts: [{ name: 'sample1.fastq.gz', file: 7, can_replace: true }] },
    },
    'POST /api/files/100/move/': { body: moved },
  })
  const wrapper = mount(
    {
      components: { MoveDialog, ConflictDialog },
      props: ['file'],
      data: () => ({ open: true }),
      template: '<MoveDialog v-model="open" :file="file" /><ConflictDialog />',
    },
    {
      props: { file: dataFile({ folder: 3 }) },
      global: { plugins: [ElementPlus] },
      attachTo: document.body,
    },
  )
  await flushPromises()
  await vi.waitFor(() => expect(document.body.textContent).toContain('Atlas'))
  const node = [...document.body.querySelectorAll('.el-tree-node__label')].find(
    (n) => n.textContent === 'Atlas',
  ) as HTMLElement
  node.click()
  await flushPromises()
  button('Move here').click()
  await flushPromises()
  await vi.waitFor(() => expect(document.body.textContent).toContain('1 file already exists'))
  expect(document.body.textContent).toContain('“sample1.fastq.gz” is already in this folder')
  button(moveTo === 'keep_both' ? 'Keep both' : 'Skip').click()
  await flushPromises()
  return { calls, wrapper }
}

describe('MoveDialog', () => {
  it('asks Replace / Keep both / Skip when the target has the name, then moves as chosen', async () => {
    const { calls, wrapper } = await openAndChoose('keep_both')
    const conflictCheck = calls.find((c) => c.url === '/api/files/conflicts/')!
    expect(conflictCheck.body).toEqual({ project: 1, folder: null, names: ['sample1.fastq.gz'] })
    const move = calls.find((c) => c.url === '/api/files/100/move/')!
    expect(move.body).toEqual({ project: 1, folder: null, on_conflict: 'keep_both' })
    expect(wrapper.findComponent(MoveDialog).emitted('moved')).toHaveLength(1)
    wrapper.unmount()
  })

  it('moves nothing when the user skips the file', async () => {
    const { calls, wrapper } = await openAndChoose('skip')
    expect(calls.some((c) => c.url === '/api/files/100/move/')).toBe(false)
    expect(wrapper.findComponent(MoveDialog).emitted('moved')).toBeUndefined()
    expect(ElMessage.info).toHaveBeenCalledWith('Nothing moved')
    expect(ElMessage.success).not.toHaveBeenCalled()
    wrapper.unmount()
  })

  it('asks Keep both or Skip for a folder whose name is taken, never Replace', async () => {
    const raw = plainFolder({ id: 10, name: 'raw', parent: null })
    const { calls } = mockFetch({
      'GET /api/projects/1/': { body: project({ id: 1, name: 'Atlas' }) },
      'GET /api/projects/': { body: page([project({ id: 1, name: 'Atlas' })]) },
      'GET /api/folders/': (call) =>
        call.url.includes('parent=20')
          ? { body: page([plainFolder({ id: 21, name: 'raw', parent: 20 })]) }
          : { body: page([raw, plainFolder({ id: 20, name: 'archive', parent: null })]) },
      'GET /api/files/': { body: page([]) },
      'PATCH /api/folders/10/': { body: { ...raw, parent: 20, name: 'raw (2)' } },
    })
    const workspace = useWorkspaceStore()
    await workspace.loadLocation(1, null)
    const wrapper = mount(
      {
        components: { MoveDialog, ConflictDialog },
        data: () => ({ open: true, keys: ['folder:10'] }),
        template: '<MoveDialog v-model="open" :keys="keys" /><ConflictDialog />',
      },
      { global: { plugins: [ElementPlus] }, attachTo: document.body },
    )
    await flushPromises()
    await vi.waitFor(() => expect(document.body.textContent).toContain('Atlas'))
    ;([...document.body.querySelectorAll('.el-tree-node__expand-icon')][0] as HTMLElement).click()
    await vi.waitFor(() => expect(document.body.textContent).toContain('archive'))
    ;(
      [...document.body.querySelectorAll('.el-tree-node__label')].find(
        (n) => n.textContent === 'archive',
      ) as HTMLElement
    ).click()
    await flushPromises()
    button('Move here').click()
    await vi.waitFor(() => expect(document.body.textContent).toContain('1 folder already exists'))
    expect(button('Replace').disabled).toBe(true)
    button('Keep both').click()
    await flushPromises()
    const patch = calls.find((c) => c.method === 'PATCH')!
    expect(patch.body).toEqual({ parent: 20, on_conflict: 'keep_both' })
    expect(ElMessage.success).toHaveBeenCalledWith('Moved 1 item to archive')
    wrapper.unmount()
  })
})
