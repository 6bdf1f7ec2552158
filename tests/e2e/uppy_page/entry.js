// Bundled by the test (rolldown, from the SPA's node_modules) into one script for a page of
// another origin, as a lab's own dashboard would embed Uppy.
import Uppy from '@uppy/core'
import Tus from '@uppy/tus'

window.Uppy = Uppy
window.UppyTus = Tus
