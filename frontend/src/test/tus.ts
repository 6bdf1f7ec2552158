/**
 * A stand-in for tus-js-client's Upload that records each upload and sends nothing; a spec
 * installs it with
 * `vi.mock('tus-js-client', async () => ({ Upload: (await import('@/test/tus')).FakeUpload }))`.
 */
export class FakeUpload {
  static instances: FakeUpload[] = []
  url: string | null = null
  constructor(
    public file: File,
    public options: {
      uploadUrl?: string | null
      metadata?: Record<string, string>
      onShouldRetry?: (err: unknown, attempt: number, o: unknown) => boolean
    },
  ) {
    FakeUpload.instances.push(this)
  }
  findPreviousUploads() {
    return Promise.resolve([])
  }
  start() {}
  abort() {
    return Promise.resolve()
  }
}
