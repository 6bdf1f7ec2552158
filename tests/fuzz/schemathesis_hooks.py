"""Loaded by schemathesis (``SCHEMATHESIS_HOOKS``) for the live-server schema run: tus PATCH and
creation-with-upload bodies are bytes (``application/offset+octet-stream``)."""

import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
