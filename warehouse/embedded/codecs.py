"""Streaming compression for HTTP bodies: what ClickHouse accepts in Content-Encoding and offers back.

Decoders take the body chunk by chunk and handle concatenated frames/members (clickhouse-connect sends
one lz4 frame per block). Each call returns at most the size asked for: a few kilobytes of zstd or gzip
can stand for gigabytes, and a body is decompressed only as fast as it is consumed, never whole into
memory. `finish()` raises when the body ended in the middle of a frame, so a truncated upload is refused
instead of being half-inserted.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import lz4.frame

# The standard library's zstd API (Python 3.14's compression.zstd) for 3.11: unlike zstandard's
# decompressobj, its decompress() takes max_length, which bounds what one call may produce.
from backports.zstd import ZstdCompressor, ZstdDecompressor, ZstdError

from warehouse.errors import ClickHouseError


class Decoder(Protocol):
    @property
    def pending(self) -> bool:
        """More output may come from input already given (call decode with b"" before feeding more)."""
        ...

    def decode(self, chunk: bytes, limit: int) -> bytes: ...
    def finish(self) -> None: ...


class Encoder(Protocol):
    def encode(self, chunk: bytes) -> bytes: ...
    def finish(self) -> bytes: ...


class _PlainDecoder:
    pending = False

    def decode(self, chunk: bytes, limit: int) -> bytes:
        return chunk  # the caller reads raw chunks of at most `limit`

    def finish(self) -> None:
        return None


class _PlainEncoder:
    def encode(self, chunk: bytes) -> bytes:
        return chunk

    def finish(self) -> bytes:
        return b""


class _FramedDecoder:
    """Decodes a sequence of complete frames (lz4 frames, gzip members, zstd frames), `limit` bytes at a time.

    All three decompressors take max_length. zlib hands back the input it did not get to (unconsumed_tail);
    lz4 and zstd keep it inside. Either way, a call that filled its limit may have more to give."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._new()
        self._input = b""  # input not yet given to a decompressor (zlib's unconsumed tail, the next frame)
        self.pending = False

    def _new(self) -> None:
        if self.name == "lz4":
            self._d: object = lz4.frame.LZ4FrameDecompressor()
        elif self.name == "zstd":
            self._d = ZstdDecompressor()
        elif self.name == "gzip":
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:  # deflate: zlib-wrapped, as HTTP means it
            self._d = zlib.decompressobj()
        self._in_frame = False

    def decode(self, chunk: bytes, limit: int) -> bytes:
        out: list[bytes] = []
        room = limit
        data = self._input + chunk if self._input else chunk
        more = self.pending
        try:
            while room > 0 and (data or more):
                self._in_frame = True
                d = self._d
                produced = d.decompress(data, room)  # type: ignore[attr-defined]
                data = getattr(d, "unconsumed_tail", b"")
                room -= len(produced)
                more = room == 0
                if produced:
                    out.append(produced)
                if getattr(d, "eof", False):
                    # What follows the frame: zlib leaves it in unused_data *and* unconsumed_tail, so only the
                    # former is taken (both once appended a second copy of the next member); lz4 has None.
                    data = d.unused_data or b""  # type: ignore[attr-defined]
                    self._new()
                    more = False
        except (RuntimeError, zlib.error, ZstdError, OSError) as exc:
            raise ClickHouseError("CANNOT_DECOMPRESS", f"Cannot decompress {self.name} request body: {exc}") from exc
        self._input = data
        self.pending = more or bool(data)
        return b"".join(out)

    def finish(self) -> None:
        if self._in_frame or self._input:
            raise ClickHouseError(
                "CANNOT_DECOMPRESS",
                f"Cannot decompress {self.name} request body: it ends in the middle of a frame (truncated)",
            )


def decoder_for(content_encoding: str | None) -> Decoder:
    name = (content_encoding or "").strip().lower()
    # `auto` (clickhouse-connect's insert_file without a compressed file name) means none, as in ClickHouse.
    if name in ("", "identity", "none", "auto"):
        return _PlainDecoder()
    if name in ("x-gzip", "gz"):
        name = "gzip"
    if name in ("lz4", "zstd", "gzip", "deflate"):
        return _FramedDecoder(name)
    raise ClickHouseError("UNKNOWN_COMPRESSION_METHOD", f"Unknown HTTP Content-Encoding: {content_encoding}")


class _ZlibEncoder:
    def __init__(self, gzip: bool, level: int) -> None:
        self._c = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)

    def encode(self, chunk: bytes) -> bytes:
        return self._c.compress(chunk)

    def finish(self) -> bytes:
        return self._c.flush()


class _ZstdEncoder:
    def __init__(self) -> None:
        self._c = ZstdCompressor(level=3)

    def encode(self, chunk: bytes) -> bytes:
        return self._c.compress(chunk)

    def finish(self) -> bytes:
        return self._c.flush(ZstdCompressor.FLUSH_FRAME)


class _Lz4Encoder:
    def __init__(self) -> None:
        self._c = lz4.frame.LZ4FrameCompressor()
        self._begun = False

    def encode(self, chunk: bytes) -> bytes:
        head = b""
        if not self._begun:
            head, self._begun = self._c.begin(), True
        return head + self._c.compress(chunk)

    def finish(self) -> bytes:
        head = b"" if self._begun else self._c.begin()
        self._begun = True
        return head + self._c.flush()


SUPPORTED_RESPONSE_ENCODINGS = ("lz4", "zstd", "gzip", "deflate")


def choose_response_encoding(accept_encoding: str | None) -> str | None:
    """The client's most preferred encoding that we support (by q-value, then by the client's order)."""
    if not accept_encoding:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_encoding.split(",")):
        name, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        name = name.strip().lower()
        if name == "x-gzip":
            name = "gzip"
        if q > 0 and name in SUPPORTED_RESPONSE_ENCODINGS:
            ranked.append((-q, position, name))
    return min(ranked)[2] if ranked else None


def encoder_for(name: str | None, level: int = 3) -> Encoder:
    if name is None:
        return _PlainEncoder()
    if name in ("gzip", "deflate"):
        return _ZlibEncoder(gzip=name == "gzip", level=level)
    if name == "zstd":
        return _ZstdEncoder()
    return _Lz4Encoder()
