import { beforeEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { ElTable } from 'element-plus'
import { mountPageAt } from '@/test/mount'
import { mockFetch, page } from '@/test/http'
import { dataFile } from '@/test/fixtures'
import SearchView from './SearchView.vue'

const FACETS = {
  organism: [
    { value: 'Homo sapiens', count: 12 },
    { value: 'Mus musculus', count: 5 },
  ],
  tags: [{ value: 'qc', count: 3 }],
}

function mountAt(path: string) {
  return mountPageAt(SearchView, path)
}

const DECLARED = [
  { name: 'organism', label: 'Organism' },
  { name: 'tags', label: 'Tags' },
]

const SEX_FIELD = {
  name: 'sex',
  label: 'Sex',
  group: 'biological',
  type: 'choice',
  choices: ['female', 'male', 'mixed', 'unknown'],
  help: '',
}

function routesWith(
  files = [dataFile({ name: 'liver_R1.fastq.gz' })],
  extra = {},
  facets = DECLARED,
) {
  return mockFetch({
    ...extra,
    'GET /api/files/': { body: { ...page(files), count: 17, facets: FACETS } },
    'GET /api/saved-searches/': { body: [] },
    'GET /api/metadata/fields/': {
      body: {
        fields: [
          {
            name: 'organism',
            label: 'Organism',
            group: 'biological',
            type: 'text',
            choices: null,
            help: '',
          },
          SEX_FIELD,
        ],
        access_levels: ['public', 'internal', 'restricted'],
        facets,
      },
    },
  })
}

beforeEach(() => {
  document.body.innerHTML = ''
})

describe('SearchView', () => {
  it('searches with the filters in the URL and shows facets, chips and rows', async () => {
    const { calls } = routesWith()
    const { wrapper } = await mountAt('/search?organism=Homo+sapiens&q=liver')
    const list = calls.find((c) => c.url.startsWith('/api/files/?'))!
    const params = new URL(list.url, 'http://x').searchParams
    expect(params.get('organism')).toBe('Homo sapiens')
    expect(params.get('q')).toBe('liver')
    expect(params.get('facets')).toContain('organism')
    const organism = wrapper.find('[data-facet="organism"]')
    expect(organism.text()).toContain('Organism')
    expect(organism.text()).toContain('Homo sapiens12')
    const boxes = organism.findAll('input[type="checkbox"]')
    expect((boxes[0].element as HTMLInputElement).checked).toBe(true)
    expect((boxes[1].element as HTMLInputElement).checked).toBe(false)
    expect(wrapper.find('.chips').text()).toContain('Organism: Homo sapiens')
    expect(wrapper.find('.chips').text()).toContain('Text: liver')
    expect(wrapper.find('table tbody tr').text()).toContain('liver_R1.fastq.gz')
    expect(wrapper.find('[data-testid="result-count"]').text()).toBe('17 files')
    wrapper.unmount()
  })

  it('shows the facets the server declares, in its order and with its labels', async () => {
    const { calls } = routesWith(undefined, {}, [
      { name: 'tags', label: 'Labels' },
      { name: 'organism', label: 'Organism' },
      { name: 'tissue', label: 'Tissue' },
    ])
    const { wrapper } = await mountAt('/search?tissue=liver')
    const list = calls.find((c) => c.url.startsWith('/api/files/?'))!
    expect(new URL(list.url, 'http://x').searchParams.get('facets')).toBe('tags,organism,tissue')
    // tissue has no counts but is filtered on, so it shows; its label is the declared one.
    const shown = wrapper.findAll('[data-facet]').map((s) => s.attributes('data-facet'))
    expect(shown).toEqual(['tags', 'organism', 'tissue'])
    expect(wrapper.find('[data-facet="tags"] h3').text()).toBe('Labels')
    expect(wrapper.find('.chips').text()).toContain('Tissue: liver')
    wrapper.unmount()
  })

  it('ticking a facet value puts it into the URL (OR within a field)', async () => {
    routesWith()
    const { wrapper, router } = await mountAt('/search?organism=Homo+sapiens')
    const boxes = wrapper.find('[data-facet="organism"]').findAll('input[type="checkbox"]')
    await boxes[1].setValue(true)
    await flushPromises()
    expect(router.currentRoute.value.query.organism).toEqual(['Homo sapiens', 'Mus musculus'])
    wrapper.unmount()
  })

  it('closing a chip removes its filter', async () => {
    routesWith()
    const { wrapper, router } = await mountAt('/search?organism=Homo+sapiens&tags=qc')
    const chip = wrapper.findAll('.chips .el-tag').find((t) => t.text().includes('Tags: qc'))!
    await chip.find('.el-tag__close').trigger('click')
    await flushPromises()
    expect(router.currentRoute.value.query).toEqual({ organism: 'Homo sapiens' })
    wrapper.unmount()
  })

  it('Set field offers the vocabulary and lists the real reason for each file not changed', async () => {
    const files = [
      dataFile({ id: 1, name: 'a.fastq' }),
      dataFile({ id: 2, name: 'b.fastq' }),
      dataFile({ id: 3, name: 'c.fastq' }),
    ]
    const { calls } = routesWith(files, {
      'PATCH /api/files/1/': { body: dataFile({ id: 1, sex: 'female' }) },
      'PATCH /api/files/2/': {
        status: 403,
        body: {
          detail:
            "You don't have permission to edit this file: you are a viewer of project “Liver”.",
          code: 'permission_denied',
        },
      },
      'PATCH /api/files/3/': { body: dataFile({ id: 3, sex: 'female' }) },
    })
    const { wrapper } = await mountAt('/search')
    // the table's own selection (its checkboxes are Element Plus internals)
    wrapper.findComponent(ElTable).vm.$emit('selection-change', files)
    await flushPromises()
    expect(wrapper.find('.bulk span').text()).toBe('3 selected')
    wrapper
      .findAll('button')
      .find((b) => b.text() === 'Set field')!
      .element.click()
    await flushPromises()
    await pick('Field', 'Sex')
    // a vocabulary field's value is a select of its words, not free text
    const value = document.querySelector('input[aria-label="Value"]')!
    expect(value.closest('.el-select')).not.toBeNull()
    await pick('Value', 'female')
    const save = Array.from(document.querySelectorAll('.el-dialog button')).find(
      (b) => b.textContent?.trim() === 'Save',
    ) as HTMLElement
    save.click()
    await flushPromises()
    const patches = calls.filter((c) => c.method === 'PATCH')
    expect(patches.map((c) => c.body)).toEqual([
      { sex: 'female' },
      { sex: 'female' },
      { sex: 'female' },
    ])
    const list = document.querySelector('ul[aria-label="Files not changed"]')!
    expect(list.querySelectorAll('li')).toHaveLength(1)
    expect(list.textContent).toContain('b.fastq')
    expect(list.textContent).toContain('not allowed: you are a viewer of project “Liver”')
    expect(document.body.textContent).not.toContain('no permission?')
    wrapper.unmount()
  })
})

/** Opens the select named `name` and clicks `option`, as a user would. */
async function pick(name: string, option: string): Promise<void> {
  const select = document.querySelector(`input[aria-label="${name}"]`)!.closest('.el-select')!
  ;(select.querySelector('.el-select__wrapper') as HTMLElement).click()
  await flushPromises()
  const item = Array.from(document.querySelectorAll('.el-select-dropdown__item')).find(
    (li) => li.textContent?.trim() === option,
  ) as HTMLElement | undefined
  if (!item) throw new Error(`no option "${option}"`)
  item.click()
  await flushPromises()
}
