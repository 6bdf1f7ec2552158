import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/client'
import { dataFile, metadataFields } from '@/test/fixtures'
import { failureReason, setFieldOn, valueToSend } from './bulk'

const field = (name: string) => metadataFields.find((f) => f.name === name)

describe('bulk Set field', () => {
  it('sends what the API accepts for each kind of field', () => {
    expect(valueToSend(field('platform'), 'Illumina')).toBe('Illumina')
    expect(valueToSend(field('platform'), '')).toBe('')
    expect(valueToSend(field('organism'), '  Mus musculus ')).toBe('Mus musculus')
    expect(valueToSend(field('taxon_id'), null)).toBeNull()
    expect(valueToSend(field('taxon_id'), 10090)).toBe(10090)
    expect(valueToSend(field('taxon_id'), ' 10090 ')).toBe(10090) // a number, never its digits as text
    expect(valueToSend(field('sequencing_date'), '')).toBeNull()
  })

  it('words the real reason the API gave, never a guess', () => {
    const viewer = new ApiError(
      403,
      "You don't have permission to edit this file: you are a viewer of project “Liver”.",
    )
    expect(failureReason(viewer, 'platform')).toBe(
      'not allowed: you are a viewer of project “Liver”',
    )
    const invalid = new ApiError(400, 'platform: "x" is not a valid choice.', 'invalid_choice', {
      platform: ['"x" is not a valid choice.'],
    })
    expect(failureReason(invalid, 'platform')).toBe('invalid value: "x" is not a valid choice')
    expect(failureReason(new ApiError(404, 'Not found.'), 'platform')).toMatch(/^not found/)
    for (const err of [viewer, invalid]) expect(failureReason(err)).not.toContain('?')
  })

  it('changes every file it may and lists each one it could not, with why', async () => {
    const files = [
      dataFile({ id: 1, name: 'a.fastq' }),
      dataFile({ id: 2, name: 'b.fastq' }),
      dataFile({ id: 3, name: 'c.fastq' }),
    ]
    const sent: [number, unknown][] = []
    const outcome = await setFieldOn(files, 'platform', 'Illumina', async (id, patch) => {
      sent.push([id, patch])
      if (id === 2) {
        throw new ApiError(
          403,
          "You don't have permission to edit this file: you are a viewer of project “P”.",
        )
      }
      return {}
    })
    expect(sent).toEqual([
      [1, { platform: 'Illumina' }],
      [2, { platform: 'Illumina' }],
      [3, { platform: 'Illumina' }],
    ])
    expect(outcome).toEqual({
      changed: 2,
      failures: [
        { id: 2, name: 'b.fastq', reason: 'not allowed: you are a viewer of project “P”' },
      ],
    })
  })
})
