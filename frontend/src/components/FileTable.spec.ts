import { describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { routes } from '@/router'
import { dataFile } from '@/test/fixtures'
import FileTable from './FileTable.vue'

describe('FileTable', () => {
  it('renders a real table whose rows carry the file name as a link', async () => {
    const router = createRouter({ history: createMemoryHistory(), routes })
    const wrapper = mount(FileTable, {
      props: { files: [dataFile(), dataFile({ id: 101, name: 'calls.vcf', size: 2_500_000_000 })] },
      global: { plugins: [router, ElementPlus] },
    })
    await flushPromises()
    const rows = wrapper.findAll('table tbody tr')
    expect(rows).toHaveLength(2)
    const link = rows[1].find('a')
    expect(link.text()).toBe('calls.vcf')
    expect(link.attributes('href')).toBe('/files/101')
    expect(rows[1].text()).toContain('2.5 GB')
    const headers = wrapper.findAll('table thead th').map((th) => th.text())
    expect(headers).toEqual([
      'Name',
      'Format',
      'Organism',
      'Assay',
      'Size',
      'Parse status',
      'Level',
      'Updated',
    ])
  })

  it('shows the parse status as a tag, spinning while the file is read', async () => {
    const router = createRouter({ history: createMemoryHistory(), routes })
    const wrapper = mount(FileTable, {
      props: {
        files: [
          dataFile({ id: 1, parse_status: 'running' }),
          dataFile({ id: 2, parse_status: 'failed', parse_error: 'Not a FASTQ file.' }),
          dataFile({ id: 3, parse_status: 'done' }),
        ],
      },
      global: { plugins: [router, ElementPlus] },
    })
    await flushPromises()
    const tags = wrapper.findAll('.parse-tag')
    expect(tags.map((t) => t.text())).toEqual(['running', 'failed', 'done'])
    expect(tags[0].find('.is-loading').exists()).toBe(true)
    expect(tags[1].classes()).toContain('el-tag--danger')
    expect(tags[2].classes()).toContain('el-tag--success')
  })
})

describe('FileTable selection', () => {
  it('names each checkbox after its row, selects ranges with shift and all at once', async () => {
    const router = createRouter({ history: createMemoryHistory(), routes })
    const files = ['a.fq', 'b.fq', 'c.fq', 'd.fq'].map((name, i) => dataFile({ id: i + 1, name }))
    const wrapper = mount(FileTable, {
      props: { files, selectable: true, selected: [] as string[] },
      global: { plugins: [router, ElementPlus] },
    })
    wrapper.setProps({
      'onUpdate:selected': (keys: string[]) => wrapper.setProps({ selected: keys }),
    })
    await flushPromises()
    const box = (name: string) => wrapper.find(`input[aria-label="Select ${name}"]`)
    await box('a.fq').trigger('click')
    await box('c.fq').trigger('click', { shiftKey: true })
    expect(wrapper.props('selected')).toEqual(['file:1', 'file:2', 'file:3'])
    await wrapper.find('input[aria-label="Select all"]').trigger('click')
    expect(wrapper.props('selected')).toEqual(['file:1', 'file:2', 'file:3', 'file:4'])
    await wrapper.find('input[aria-label="Select all"]').trigger('click')
    expect(wrapper.props('selected')).toEqual([])
  })
})
