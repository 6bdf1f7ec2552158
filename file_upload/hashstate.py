"""A SHA-256 whose state can be saved with an upload's offset and taken up again by any process.

``hashlib`` objects cannot be serialised, so a tus upload whose PATCHes land on different
workers (or on a worker that was killed) could only get its SHA-256 by reading the whole file
again at the end. ``ResumableSHA256`` drives OpenSSL's ``SHA256_Init``/``SHA256_Update``/
``SHA256_Final`` — the same libcrypto, and the same SHA-NI/AVX2 code, that ``hashlib`` uses —
through ``ctypes`` on a ``SHA256_CTX`` it owns. That structure is public (``openssl/sha.h``:
eight 32-bit chaining words, the bit length as two 32-bit halves, a 64-byte block buffer, the
number of bytes in it and the digest length) and has not changed since OpenSSL 0.9.7, so its
bytes are the state. ``ctypes`` releases the GIL for the call, so a helper thread can hash while
the request thread receives and writes. See docs/decisions/0006-resumable-upload-hash.md.

A saved state is ``FORMAT`` followed by the structure; ``restore`` refuses anything that does
not say so, or whose byte count is not the offset it is restored at, and callers then fall back
to hashing the file from disk. ``available()`` is False where libcrypto lacks the (deprecated
but exported) low-level functions; uploads then take that fallback every time.

Public surface: ``ResumableSHA256``, ``available``, ``FORMAT``, ``STATE_SIZE``.
"""

from __future__ import annotations

import ctypes
import ctypes.util

FORMAT = b"openssl-sha256-ctx-v1:"


class _Ctx(ctypes.Structure):
    _fields_ = [
        ("h", ctypes.c_uint32 * 8),
        ("Nl", ctypes.c_uint32),
        ("Nh", ctypes.c_uint32),
        ("data", ctypes.c_uint32 * 16),
        ("num", ctypes.c_uint),
        ("md_len", ctypes.c_uint),
    ]


def _load() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("crypto")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)  # CDLL (not PyDLL): calls release the GIL
        for function in ("SHA256_Init", "SHA256_Update", "SHA256_Final"):
            getattr(lib, function)
    except (OSError, AttributeError):
        return None
    ctx = ctypes.POINTER(_Ctx)
    lib.SHA256_Init.argtypes, lib.SHA256_Init.restype = [ctx], ctypes.c_int
    lib.SHA256_Update.argtypes = [ctx, ctypes.c_char_p, ctypes.c_size_t]
    lib.SHA256_Update.restype = ctypes.c_int
    lib.SHA256_Final.argtypes, lib.SHA256_Final.restype = [ctypes.c_char_p, ctx], ctypes.c_int
    # The structure must be what this libcrypto computes with: check against a known digest.
    probe = _Ctx()
    lib.SHA256_Init(ctypes.byref(probe))
    lib.SHA256_Update(ctypes.byref(probe), b"abc", 3)
    out = ctypes.create_string_buffer(32)
    lib.SHA256_Final(out, ctypes.byref(probe))
    if out.raw.hex() != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad":
        return None
    return lib


_LIB = _load()
STATE_SIZE = len(FORMAT) + ctypes.sizeof(_Ctx)


def available() -> bool:
    return _LIB is not None


class ResumableSHA256:
    """``update`` bytes, read ``length``, save ``state()``, ``restore`` it anywhere, ``hexdigest``."""

    __slots__ = ("_ctx",)

    def __init__(self) -> None:
        if _LIB is None:
            raise RuntimeError("libcrypto's SHA256_* functions are not available")
        self._ctx = _Ctx()
        _LIB.SHA256_Init(ctypes.byref(self._ctx))

    def update(self, data: bytes) -> None:
        if data:
            _LIB.SHA256_Update(ctypes.byref(self._ctx), data, len(data))  # type: ignore[union-attr]

    @property
    def length(self) -> int:
        """Bytes hashed so far."""
        return ((self._ctx.Nh << 32) | self._ctx.Nl) >> 3

    def state(self) -> bytes:
        return FORMAT + bytes(self._ctx)

    @classmethod
    def restore(cls, state: bytes | memoryview | None, length: int) -> ResumableSHA256 | None:
        """The hash saved in ``state`` if it is one of ours and covers exactly ``length`` bytes;
        None otherwise (no state, another format, or a state from another offset)."""
        if _LIB is None or state is None:
            return None
        state = bytes(state)
        if not state.startswith(FORMAT) or len(state) != len(FORMAT) + ctypes.sizeof(_Ctx):
            return None
        hasher = cls()
        ctypes.memmove(ctypes.byref(hasher._ctx), state[len(FORMAT) :], ctypes.sizeof(_Ctx))
        ctx = hasher._ctx
        if hasher.length != length or ctx.num != length % 64 or ctx.md_len != 32:
            return None
        return hasher

    def copy(self) -> ResumableSHA256:
        other = ResumableSHA256.__new__(ResumableSHA256)
        other._ctx = _Ctx.from_buffer_copy(bytes(self._ctx))
        return other

    def hexdigest(self) -> str:
        """The digest of what was hashed so far (this object can go on being updated)."""
        final = self.copy()
        out = ctypes.create_string_buffer(32)
        _LIB.SHA256_Final(out, ctypes.byref(final._ctx))  # type: ignore[union-attr]
        return out.raw.hex()
