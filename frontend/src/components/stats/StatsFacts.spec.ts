import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import StatsFacts from './StatsFacts.vue'
import StatsCharts from './StatsCharts.vue'
import { EChartStub } from './testing'
import { fact, statsKind } from './facts'

describe('StatsFacts and StatsCharts', () => {
  it('renders facts with their exact value on hover, and nothing when there are none', () => {
    const wrapper = mount(StatsFacts, {
      props: { facts: [fact({ reads: 3412908 }, 'Reads', 'reads')!] },
    })
    expect(wrapper.find('dd').text()).toBe('3,412,908')
    expect(wrapper.find('dd').attributes('title')).toBe('3412908')
    expect(
      mount(StatsFacts, { props: { facts: [] } })
        .find('dl')
        .exists(),
    ).toBe(false)
  })

  it('names each plot by its title', () => {
    const wrapper = mount(StatsCharts, {
      props: { charts: [{ title: 'Variant types', option: {} }] },
      global: { stubs: { EChart: EChartStub } },
    })
    expect(wrapper.find('figcaption').text()).toBe('Variant types')
    expect(wrapper.find('[role="img"]').attributes('aria-label')).toBe('Variant types')
  })

  it('picks the component by format, else by the keys the stats have', () => {
    expect(statsKind('FASTQ', {})).toBe('fastq')
    expect(statsKind(null, { n50: 1 })).toBe('fasta')
    expect(statsKind('BCF', {})).toBe('vcf')
    expect(statsKind('', { sort_order: 'coordinate' })).toBe('bam')
    expect(statsKind('H5AD', {})).toBe('h5ad')
    expect(statsKind('TXT', { lines: 1 })).toBe('other')
  })
})
