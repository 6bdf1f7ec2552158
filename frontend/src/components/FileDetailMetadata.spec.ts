import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { controlByLabel } from '@/test/dom'
import { mockFetch } from '@/test/http'
import { dataFile, metadataFields } from '@/test/fixtures'
import FileDetailMetadata from './FileDetailMetadata.vue'

vi.mock('element-plus', async (importOriginal) => {
  const actual = await importOriginal<typeof import('element-plus')>()
  return { ...actual, ElMessage: { success: vi.fn(), error: vi.fn() } }
})

// Element Plus assigns input ids after mount, so wait a tick before looking.
async function mountForm(file = dataFile()) {
  const wrapper = mount(FileDetailMetadata, {
    props: { file, fields: metadataFields },
    global: { plugins: [ElementPlus] },
    attachTo: document.body,
  })
  await flushPromises()
  return wrapper
}

beforeEach(() => {
  document.body.innerHTML = ''
})

describe('FileDetailMetadata', () => {
  it('renders the Biological and Technical groups', async () => {
    const wrapper = await mountForm()
    expect(wrapper.findAll('legend').map((l) => l.text())).toEqual(['Biological', 'Technical'])
    wrapper.unmount()
  })

  it('marks the fields filled in from the file content as "auto"', async () => {
    const wrapper = await mountForm(dataFile({ autofilled_fields: ['organism', 'file_format'] }))
    const marked = wrapper
      .findAll('.auto-tag')
      .map((tag) => tag.element.closest('.el-form-item')!.querySelector('label')!.textContent)
    expect(marked).toEqual(['Organism', 'File format'])
    // the label itself stays the field's name, so getByLabel keeps working
    expect(controlByLabel('Organism')).toHaveProperty('value', 'Mus musculus')
    // the mark has an accessible description, not only a tooltip
    const mark = wrapper.find('[data-autofilled="organism"]')
    expect(mark.attributes('aria-label')).toContain('Organism was filled in automatically')
    wrapper.unmount()
  })

  it('takes the "auto" mark away as soon as a person edits the value', async () => {
    const wrapper = await mountForm(dataFile({ autofilled_fields: ['organism', 'file_format'] }))
    await wrapper.find('#meta-organism').setValue('Homo sapiens')
    expect(wrapper.find('[data-autofilled="organism"]').exists()).toBe(false)
    expect(wrapper.find('[data-autofilled="file_format"]').exists()).toBe(true)
    await wrapper.find('#meta-organism').setValue('Mus musculus') // back to the app's value
    expect(wrapper.find('[data-autofilled="organism"]').exists()).toBe(true)
    wrapper.unmount()
  })

  it('associates every field label with a focusable input (getByLabel works)', async () => {
    const wrapper = await mountForm()
    for (const label of ['Description', 'Tags', ...metadataFields.map((f) => f.label)]) {
      const control = controlByLabel(label)
      expect(['INPUT', 'TEXTAREA'], label).toContain(control.tagName)
    }
    // the vocabularies are selects: their labelled input is the select's combobox input
    const assay = controlByLabel('Assay type')
    expect(assay.closest('.el-select')).not.toBeNull()
    expect(controlByLabel('Organism')).toHaveProperty('value', 'Mus musculus')
    expect(controlByLabel('Taxon ID').closest('.el-input-number')).not.toBeNull()
    expect(controlByLabel('Sequencing date').closest('.el-date-editor')).not.toBeNull()
    wrapper.unmount()
  })

  it('PATCHes only the changed fields and emits the saved file', async () => {
    const { calls } = mockFetch({
      'PATCH /api/files/100/': (call) => ({ body: dataFile(call.body as object) }),
    })
    const wrapper = await mountForm()
    const save = wrapper.findAll('button').find((b) => b.text() === 'Save')!
    expect(save.attributes('disabled')).toBeDefined()

    await wrapper.find('#meta-tissue').setValue('kidney')
    await wrapper.find('#meta-description').setValue('Second run')
    const tags = wrapper.find('#meta-tags')
    await tags.setValue('liver')
    await tags.trigger('keydown', { key: 'Enter' })
    expect(save.attributes('disabled')).toBeUndefined()

    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(calls).toHaveLength(1)
    expect(calls[0].method).toBe('PATCH')
    expect(calls[0].body).toEqual({ tissue: 'kidney', description: 'Second run', tags: ['liver'] })
    expect(wrapper.emitted('saved')?.[0]?.[0]).toMatchObject({ tissue: 'kidney' })
    wrapper.unmount()
  })

  it('shows field errors next to their fields', async () => {
    mockFetch({
      'PATCH /api/files/100/': {
        status: 400,
        body: {
          detail: 'Invalid input.',
          code: 'invalid',
          errors: { sample_id: ['Sample ID may not contain spaces.'] },
        },
      },
    })
    const wrapper = await mountForm()
    await wrapper.find('#meta-sample_id').setValue('S 1')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    const item = wrapper.find('#meta-sample_id').element.closest('.el-form-item')!
    // Element Plus shows a form item's error after a short debounce.
    await vi.waitFor(() =>
      expect(item.querySelector('[role="alert"]')?.textContent).toContain(
        'Sample ID may not contain spaces.',
      ),
    )
    // said once, beside its field, without the field's name
    expect(wrapper.text()).toContain('see the marked field')
    expect(wrapper.text().split('Sample ID may not contain spaces.')).toHaveLength(2)
    expect(wrapper.text()).not.toContain('sample_id')
    wrapper.unmount()
  })
})
