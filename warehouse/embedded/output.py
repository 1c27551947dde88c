"""Turning engine results into the bytes of the requested output format, streamed chunk by chunk.

chdb's streaming API returns each chunk as a complete document of its format (a CSV header, a JSON
envelope, an Arrow file per chunk). Concatenating those is only right for formats without a header or
footer. So each format is served one of four ways:

- plain row formats (Native, RowBinary, TSV, CSV, JSONEachRow, ...): chunks concatenated as they come;
- `...WithNames[AndTypes]`: the header kept from the first chunk and cut from the others;
- Arrow, ArrowStream, Parquet: chunks read as Arrow record batches and written to one pyarrow writer;
- everything else (JSON, XML, Pretty, ...): documents for people; run whole and sent as one piece.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PLAIN = frozenset(
    name.lower()
    for name in (
        "Native", "RowBinary", "TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw", "Raw", "CSV", "JSONEachRow",
        "JSONLines", "NDJSON", "JSONCompactEachRow", "JSONStringsEachRow", "JSONCompactStringsEachRow",
        "Values", "TSKV", "LineAsString", "RawBLOB", "CustomSeparated", "JSONObjectEachRow", "Null",
    )
)  # fmt: skip

# format -> (how many header lines, "lines" or "rowbinary")
WITH_HEADER: dict[str, tuple[int, str]] = {
    **{
        name.lower() + "withnames": (1, "lines")
        for name in ("TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw", "CSV", "JSONCompactEachRow",
                     "JSONCompactStringsEachRow", "CustomSeparated")
    },
    **{
        name.lower() + "withnamesandtypes": (2, "lines")
        for name in ("TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw", "CSV", "JSONCompactEachRow",
                     "JSONCompactStringsEachRow", "CustomSeparated")
    },
    "rowbinarywithnames": (1, "rowbinary"),
    "rowbinarywithnamesandtypes": (2, "rowbinary"),
}  # fmt: skip

ARROW_FAMILY = frozenset({"arrow", "arrowstream", "parquet"})

CONTENT_TYPES = {
    "tabseparated": "text/tab-separated-values; charset=UTF-8",
    "tsv": "text/tab-separated-values; charset=UTF-8",
    "csv": "text/csv; charset=UTF-8; header=absent",
    "csvwithnames": "text/csv; charset=UTF-8; header=present",
    "json": "application/json; charset=UTF-8",
    "jsoncompact": "application/json; charset=UTF-8",
    "jsoneachrow": "application/x-ndjson; charset=UTF-8",
    "xml": "application/xml; charset=UTF-8",
}


def content_type(fmt: str) -> str:
    lower = fmt.lower()
    if lower in CONTENT_TYPES:
        return CONTENT_TYPES[lower]
    if lower.startswith(("native", "rowbinary", "arrow", "parquet", "orc", "avro", "protobuf", "msgpack")):
        return "application/octet-stream"
    return "text/plain; charset=UTF-8"


def streaming_mode(fmt: str) -> str:
    """'plain', 'header', 'arrow' or 'whole' for an output format name."""
    lower = fmt.lower()
    if lower in PLAIN:
        return "plain"
    if lower in WITH_HEADER:
        return "header"
    if lower in ARROW_FAMILY:
        return "arrow"
    return "whole"


def engine_format(fmt: str) -> str:
    """What to ask chdb for when streaming `fmt`."""
    return "Arrow" if streaming_mode(fmt) == "arrow" else fmt


def empty_result_is_empty(fmt: str) -> bool:
    """True when a result with no rows is zero bytes in this format (no header, no envelope)."""
    return streaming_mode(fmt) == "plain"


def _read_varuint(data: memoryview, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def strip_header(chunk: bytes, lines: int, kind: str) -> bytes:
    """Cut the header a `...WithNames[AndTypes]` chunk starts with."""
    if kind == "lines":
        pos = 0
        for _ in range(lines):
            pos = chunk.index(b"\n", pos) + 1
        return chunk[pos:]
    view = memoryview(chunk)
    columns, pos = _read_varuint(view, 0)
    for _ in range(columns * lines):
        length, pos = _read_varuint(view, pos)
        pos += length
    return chunk[pos:]


class _Sink(io.RawIOBase):
    """A write-only file that hands what pyarrow writes to the response, chunk by chunk."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        blob = bytes(data)
        self.parts.append(blob)
        self.position += len(blob)
        return len(blob)

    def tell(self) -> int:
        return self.position

    def drain(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def reencode_arrow(chunks: Iterator[bytes], fmt: str) -> Iterator[bytes]:
    """Arrow-file chunks from the engine -> one Arrow file, Arrow stream or Parquet file."""
    lower = fmt.lower()
    sink = _Sink()
    writer: Any = None
    for chunk in chunks:
        reader = pa.ipc.open_file(pa.py_buffer(chunk))
        if writer is None:
            schema = reader.schema
            if lower == "arrowstream":
                writer = pa.ipc.new_stream(sink, schema)
            elif lower == "arrow":
                writer = pa.ipc.new_file(sink, schema)
            else:
                writer = pq.ParquetWriter(sink, schema)
        for i in range(reader.num_record_batches):
            writer.write_batch(reader.get_batch(i))
        data = sink.drain()
        if data:
            yield data
    if writer is not None:
        writer.close()
        data = sink.drain()
        if data:
            yield data


def shape_stream(chunks: Iterator[bytes], fmt: str) -> Iterator[bytes]:
    """Engine chunks of a streamed query -> the bytes of one well-formed `fmt` document."""
    mode = streaming_mode(fmt)
    if mode == "plain":
        yield from chunks
    elif mode == "header":
        lines, kind = WITH_HEADER[fmt.lower()]
        first = True
        for chunk in chunks:
            yield chunk if first else strip_header(chunk, lines, kind)
            first = False
    elif mode == "arrow":
        yield from reencode_arrow(chunks, fmt)
    else:
        raise ValueError(f"{fmt} is not streamed")
