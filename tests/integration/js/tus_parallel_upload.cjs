// Uploads one file with the real tus-js-client from the SPA's node_modules, split into
// parallel partial uploads joined by a final one (tus concatenation).
// Usage: node tus_parallel_upload.cjs <endpoint> <token> <project id> <file> <parts> <chunk bytes>
// Prints {"url": <final upload URL>} on success; exits 1 with the error otherwise.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const { createRequire } = require('node:module')

const frontend = path.resolve(__dirname, '../../../frontend/package.json')
const tus = createRequire(frontend)('tus-js-client')

const [endpoint, token, project, file, parts, chunkSize] = process.argv.slice(2)
const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  headers: { Authorization: `Token ${token}` },
  metadata: { filename: path.basename(file), project },
  parallelUploads: Number(parts),
  chunkSize: Number(chunkSize),
  retryDelays: [200, 500, 1000, 2000],
  onError(error) {
    console.error(String(error))
    process.exit(1)
  },
  onSuccess() {
    console.log(JSON.stringify({ url: upload.url }))
  },
})
upload.start()
