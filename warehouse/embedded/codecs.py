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


# A decompressor gets its input this much at a time: what follows a frame's end (unused_data) is a copy of the
# rest of the input given, so a body of tiny frames given whole cost time in the square of a read's size.
SLICE_BYTES = 64 * 1024
# Frames a body may have: this many, then one per KiB of compressed input. Each costs Python work and carries
# no data if empty; clients send one per block of data (clickhouse-connect), or one for the whole body.
FRAME_ALLOWANCE = 64


class _FramedDecoder:
    """Decodes a sequence of complete frames (lz4 frames, gzip members, zstd frames), `limit` bytes at a time.

    All three decompressors take max_length. zlib hands back the input it did not get to (unconsumed_tail);
    lz4 and zstd keep it inside. Either way, a call that filled its limit may have more to give."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._new()
        self._buffered = name in ("lz4", "zstd")  # they keep unconsumed input themselves (zlib hands it back)
        self._input: bytes = b""  # the input not yet given to a decompressor starts at self._pos
        self._pos = 0
        self._fed = 0
        self._frames = 0
        self._more = False  # the decompressor may have output from input it was given
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
        if chunk:  # only given once the input before it is used up (pending is False)
            self._input, self._pos = chunk, 0
            self._fed += len(chunk)
        view = memoryview(self._input)
        out: list[bytes] = []
        room = limit
        more = self._more
        try:
            while room > 0 and (self._pos < len(view) or more):
                self._in_frame = True
                d = self._d
                # lz4 and zstd with output still to give get no more input until they have given it: so at a
                # frame's end, what they hold past it lies in the input given last, which is still at hand.
                if more and self._buffered:
                    piece = view[self._pos : self._pos]
                else:
                    piece = view[self._pos : self._pos + SLICE_BYTES]
                produced = d.decompress(piece, room)  # type: ignore[attr-defined]
                eof = getattr(d, "eof", False)
                # What was not used: zlib leaves what follows a frame in unused_data *and* unconsumed_tail.
                left = (d.unused_data or b"") if eof else getattr(d, "unconsumed_tail", b"")  # type: ignore[attr-defined]
                self._pos += len(piece) - len(left)
                room -= len(produced)
                more = room == 0 and not eof
                if produced:
                    out.append(produced)
                if eof:
                    self._frames += 1
                    if self._frames > FRAME_ALLOWANCE + self._fed // 1024:
                        raise ClickHouseError(
                            "CANNOT_DECOMPRESS",
                            f"Cannot decompress {self.name} request body: more than {self._frames - 1} frames in "
                            f"{self._fed} bytes (at most {FRAME_ALLOWANCE} and one per KiB)",
                        )
                    self._new()
        except (RuntimeError, zlib.error, ZstdError, OSError) as exc:
            raise ClickHouseError("CANNOT_DECOMPRESS", f"Cannot decompress {self.name} request body: {exc}") from exc
        self._more = more
        self.pending = more or self._pos < len(self._input)
        return b"".join(out)

    def finish(self) -> None:
        if self._in_frame or self._pos < len(self._input):
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
