/** Shared by the statistics specs: jsdom has no canvas, so the chart wrapper becomes a named
 * box that carries its option as JSON. */
import { defineComponent, h } from 'vue'
import { mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import type { Component } from 'vue'

export const EChartStub = defineComponent({
  props: { title: { type: String, required: true }, option: { type: Object, required: true } },
  setup(props) {
    return () =>
      h('div', {
        role: 'img',
        'aria-label': props.title,
        'data-option': JSON.stringify(props.option),
      })
  },
})

export function mountStats(component: Component, stats: Record<string, unknown>) {
  return mount(component, {
    props: { stats },
    global: { plugins: [ElementPlus], stubs: { EChart: EChartStub } },
  })
}

/** Any mounted wrapper: a statistics component, or the tab around one. */
export type Mounted = Pick<ReturnType<typeof mountStats>, 'find' | 'findAll'>

export function chartNames(wrapper: Mounted): string[] {
  return wrapper.findAll('[role="img"]').map((c) => c.attributes('aria-label')!)
}

export function chartOption(wrapper: Mounted, title: string) {
  return JSON.parse(wrapper.find(`[aria-label="${title}"]`).attributes('data-option')!)
}

export function factsOf(wrapper: Mounted): Record<string, string> {
  return Object.fromEntries(
    wrapper.findAll('.fact').map((f) => [f.find('dt').text(), f.find('dd').text()]),
  )
}
