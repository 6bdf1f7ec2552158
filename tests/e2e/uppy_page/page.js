// Uploads the chosen file with Uppy's tus plugin to the endpoint, token and project given in
// the page's fragment (#endpoint=…&token=…&project=…) and prints Uppy's result as JSON.
const params = new URLSearchParams(location.hash.slice(1))
const uppy = new window.Uppy({ autoProceed: false })
uppy.use(window.UppyTus, {
  endpoint: params.get('endpoint'),
  headers: { Authorization: `Token ${params.get('token')}` },
  chunkSize: 256 * 1024,
  retryDelays: [0, 500],
})
uppy.setMeta({ project: params.get('project') })
const result = document.getElementById('result')

document.getElementById('files').addEventListener('change', async (event) => {
  for (const file of event.target.files) {
    uppy.addFile({ name: file.name, type: file.type, data: file })
  }
  const outcome = await uppy.upload()
  result.textContent = JSON.stringify({
    successful: outcome.successful.map((f) => ({ name: f.name, url: f.tus?.uploadUrl ?? f.uploadURL })),
    failed: outcome.failed.map((f) => ({ name: f.name, error: String(f.error) })),
  })
})
