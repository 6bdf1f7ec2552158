import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { NameConflict } from '@/api/types'

export type ConflictChoice = 'replace' | 'keep_both' | 'skip'

/** A taken name; `folder`: a folder's, which is never replaced (Keep both or Skip). */
export type PromptConflict = NameConflict & { folder?: boolean }

/**
 * Asks once per upload batch what to do with names that are already taken, before any byte is
 * sent: Replace / Keep both / Skip for each, with "Apply to all". `ask` resolves to the choice
 * per name, or null when the user closed the dialog (the batch is not uploaded).
 */
export const useConflictPrompt = defineStore('conflictPrompt', () => {
  const conflicts = ref<PromptConflict[]>([])
  const index = ref(0)
  const applyAll = ref(false)
  const open = ref(false)
  const decisions = new Map<string, ConflictChoice>()
  let resolver: ((value: Map<string, ConflictChoice> | null) => void) | null = null

  const current = computed(() => conflicts.value[index.value] ?? null)
  const remaining = computed(() => conflicts.value.length - index.value)

  function ask(found: PromptConflict[]): Promise<Map<string, ConflictChoice> | null> {
    if (!found.length) return Promise.resolve(new Map())
    resolver?.(null)
    conflicts.value = found
    index.value = 0
    applyAll.value = false
    decisions.clear()
    open.value = true
    return new Promise((resolve) => {
      resolver = resolve
    })
  }

  function finish(value: Map<string, ConflictChoice> | null): void {
    open.value = false
    const resolve = resolver
    resolver = null
    resolve?.(value)
  }

  function choose(choice: ConflictChoice): void {
    const targets = applyAll.value ? conflicts.value.slice(index.value) : [current.value!]
    for (const conflict of targets) {
      // "Replace" applied to all leaves alone the files this user may not replace.
      decisions.set(
        conflict.name,
        choice === 'replace' && !conflict.can_replace ? 'keep_both' : choice,
      )
    }
    index.value += targets.length
    if (index.value >= conflicts.value.length) finish(new Map(decisions))
  }

  function cancel(): void {
    if (open.value) finish(null)
  }

  return { conflicts, index, applyAll, open, current, remaining, ask, choose, cancel }
})
