"""An INSERT's data on its way from the HTTP body to the engine.

Two things keep the engine parsing instead of waiting (profiled with `benchmarks/warehouse_bench.py`):

- Read-ahead: a thread receives (and decompresses) the next pieces of the body while the engine parses the
  ones before. Read and parse in turn, the engine sat idle for every socket read and the client stalled
  whenever the socket buffer was full.
- The Arrow file format is fed as the stream it contains. An Arrow file is the magic `ARROW1` padded to 8
  bytes, then an Arrow IPC stream ending in its end-of-stream marker, then a footer (an index of the
  batches) (https://arrow.apache.org/docs/format/Columnar.html#ipc-file-format). The engine's `Arrow`
  reader wants random access, so it holds the whole body and parses at the end; its `ArrowStream` reader
  parses batch by batch as data arrives and stops at the end-of-stream marker. clickhouse-connect's
  `insert_arrow` sends the file format, which is the path extract-load uses.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Protocol

ARROW_FILE_MAGIC = b"ARROW1\x00\x00"  # the 6-byte magic and its padding to 8 bytes
PIECE_BYTES = 1 << 20  # small reads (decompressed frames, short HTTP chunks) are gathered up to this
READ_AHEAD_PIECES = 4  # pieces held between the socket and the engine: bounded memory per insert
_END = object()


class Body(Protocol):
    def read(self) -> bytes: ...


@contextlib.contextmanager
def read_ahead(body: Body, head: bytes) -> Iterator[Iterator[bytes]]:
    """The body's data after `head`, in pieces of at least PIECE_BYTES (the last may be shorter), read on a
    thread of its own. An error while reading (a cut or oversized body, bad compression) is raised to the
    consumer as it was raised. On exit the thread has stopped, so nobody else reads the body afterwards."""
    pieces: queue.Queue[object] = queue.Queue(maxsize=READ_AHEAD_PIECES)
    stop = threading.Event()

    def put(item: object) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                pieces.put(item, timeout=0.1)
                return

    def produce() -> None:
        try:
            pending, size = ([head], len(head)) if head else ([], 0)
            while not stop.is_set():
                data = body.read()
                if data:
                    pending.append(data)
                    size += len(data)
                if pending and (size >= PIECE_BYTES or not data):
                    put(pending[0] if len(pending) == 1 else b"".join(pending))
                    pending, size = [], 0
                if not data:
                    break
            put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)

    def consume() -> Iterator[bytes]:
        while (item := pieces.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    reader = threading.Thread(target=produce, name="insert-read-ahead", daemon=True)
    reader.start()
    try:
        yield consume()
    finally:
        stop.set()
        reader.join()


def as_stream(fmt: str, pieces: Iterator[bytes]) -> tuple[str, Iterator[bytes]]:
    """The format to give the engine and the data to give it: an Arrow file becomes the stream inside it.
    Anything else, including data that does not start like an Arrow file, goes through as it is (and the
    engine's own reader gives the error)."""
    if fmt != "Arrow":
        return fmt, pieces
    first = next(pieces, b"")
    if not first.startswith(ARROW_FILE_MAGIC):
        return fmt, _prepend(first, pieces)
    # The footer after the end-of-stream marker is left to the stream reader, which stops at the marker.
    return "ArrowStream", _prepend(first[len(ARROW_FILE_MAGIC) :], pieces)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest
