import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useConflictPrompt } from './conflicts'

const taken = (name: string, canReplace = true) => ({ name, file: 1, can_replace: canReplace })

describe('conflict prompt', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('asks name by name, and Apply to all decides the rest at once', async () => {
    const prompt = useConflictPrompt()
    const answer = prompt.ask([taken('a.fq'), taken('b.fq'), taken('c.fq', false)])
    expect(prompt.open).toBe(true)
    expect(prompt.current?.name).toBe('a.fq')
    prompt.choose('keep_both')
    expect(prompt.current?.name).toBe('b.fq')
    prompt.applyAll = true
    prompt.choose('replace')
    const decisions = await answer
    expect(prompt.open).toBe(false)
    // c.fq may not be replaced by this user: it is kept beside instead
    expect(Object.fromEntries(decisions!)).toEqual({
      'a.fq': 'keep_both',
      'b.fq': 'replace',
      'c.fq': 'keep_both',
    })
  })

  it('resolves to null when the dialog is closed, and at once when nothing is taken', async () => {
    const prompt = useConflictPrompt()
    expect((await prompt.ask([]))?.size).toBe(0)
    const answer = prompt.ask([taken('a.fq')])
    prompt.cancel()
    expect(await answer).toBeNull()
  })
})
