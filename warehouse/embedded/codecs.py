"""Streaming compression for HTTP bodies: what ClickHouse accepts in Content-Encoding and offers back.

Decoders take the body chunk by chunk and handle concatenated frames/members (clickhouse-connect sends
one lz4 frame per block). `finish()` raises when the body ended in the middle of a frame, so a truncated
upload is refused instead of being half-inserted.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import lz4.frame
import zstandard

from warehouse.errors import ClickHouseError


class Decoder(Protocol):
    def decode(self, chunk: bytes) -> bytes: ...
    def finish(self) -> bytes: ...


class Encoder(Protocol):
    def encode(self, chunk: bytes) -> bytes: ...
    def finish(self) -> bytes: ...


class _Identity:
    def decode(self, chunk: bytes) -> bytes:
        return chunk

    def encode(self, chunk: bytes) -> bytes:
        return chunk

    def finish(self) -> bytes:
        return b""


class _FramedDecoder:
    """Decodes a sequence of complete frames (lz4 frames, gzip members, zstd frames)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._new()
        self._pending = b""  # bytes of a frame that has started but not ended

    def _new(self) -> None:
        if self.name == "lz4":
            self._d: object = lz4.frame.LZ4FrameDecompressor()
        elif self.name == "zstd":
            self._d = zstandard.ZstdDecompressor().decompressobj()
        elif self.name == "gzip":
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:  # deflate: zlib-wrapped, as HTTP means it
            self._d = zlib.decompressobj()
        self._in_frame = False

    def decode(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        data = chunk
        try:
            while data:
                self._in_frame = True
                d = self._d
                produced = d.decompress(data)  # type: ignore[attr-defined]
                if produced:
                    out.append(produced)
                if not getattr(d, "eof", False):
                    break
                rest = d.unused_data  # type: ignore[attr-defined]
                self._new()
                data = rest
        except (RuntimeError, zlib.error, zstandard.ZstdError, OSError) as exc:
            raise ClickHouseError("CANNOT_DECOMPRESS", f"Cannot decompress {self.name} request body: {exc}") from exc
        return b"".join(out)

    def finish(self) -> bytes:
        if self._in_frame:
            raise ClickHouseError(
                "CANNOT_DECOMPRESS",
                f"Cannot decompress {self.name} request body: it ends in the middle of a frame (truncated)",
            )
        return b""


def decoder_for(content_encoding: str | None) -> Decoder:
    name = (content_encoding or "").strip().lower()
    # `auto` (clickhouse-connect's insert_file without a compressed file name) means none, as in ClickHouse.
    if name in ("", "identity", "none", "auto"):
        return _Identity()
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
        self._c = zstandard.ZstdCompressor(level=3).compressobj()

    def encode(self, chunk: bytes) -> bytes:
        return self._c.compress(chunk)

    def finish(self) -> bytes:
        return self._c.flush()


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
        return _Identity()
    if name in ("gzip", "deflate"):
        return _ZlibEncoder(gzip=name == "gzip", level=level)
    if name == "zstd":
        return _ZstdEncoder()
    return _Lz4Encoder()
