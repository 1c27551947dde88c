"""The parent's side of the SQLite reader process (`extractors.sqlite_reader`).

One child per extraction run, started on first use. For each table the parent sends a request and gets
back an Arrow IPC stream; a thread moves record batches from the pipe into a small queue, so the child keeps
reading while the parent sends the previous batches to the warehouse (two cores busy, not one).

If the child dies, the stream is cut short: the parent raises `ReaderProcessError` with the exit status and
the child's stderr, and since a batch's watermark is only recorded after its insert is acknowledged,
nothing unsent is ever acknowledged.
"""

from __future__ import annotations

import contextlib
import json
import queue
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from extractors.raw_types import RawTable

# Record batches held between the pipe and the inserts: enough for the child to keep reading while the
# warehouse finishes an insert, few enough to bound the parent's memory (8 x 65,536 rows, ~100 MB of vends).
PREFETCH_BATCHES = 8
_END = object()


class ReaderProcessError(RuntimeError):
    """The SQLite reader process failed; the message carries its exit status and stderr."""


class SQLiteReaderProcess:
    """A running `python -m extractors.sqlite_reader` reading one SQLite file."""

    def __init__(self, database: str | Path) -> None:
        self.database = str(Path(database).resolve())
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._streaming = False  # a stream is being read: the child is mid-answer

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is not None:
            self._forget()  # it ended between two requests, after a complete answer: start another
        if self._process is None:
            self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - read back on failure, closed in close()
            self._process = subprocess.Popen(
                [sys.executable, "-m", "extractors.sqlite_reader"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                bufsize=1 << 20,
            )
        return self._process

    def stream(
        self,
        table: RawTable,
        *,
        after: int = 0,
        window: tuple[str, str, str] | None = None,
        block_rows: int = 65_536,
    ) -> Generator[pa.RecordBatch, None, None]:
        """Rows with change_seq > after (or `window` = (column, start, end) as stored text), in change_seq
        order, in the raw table's Arrow schema with load columns, in record batches of at most block_rows."""
        process = self._start()
        request: dict[str, Any] = {
            "database": self.database,
            "table": table.to_json(),
            "after": after,
            "block_rows": block_rows,
        }
        if window is not None:
            request["window"] = dict(zip(("column", "start", "end"), window, strict=True))
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(request).encode() + b"\n")
            process.stdin.flush()
        except BrokenPipeError:
            raise self._failure(f"reading {table.name}") from None
        batches: queue.Queue[Any] = queue.Queue(PREFETCH_BATCHES)
        stop = threading.Event()
        pump = threading.Thread(
            target=_pump,
            args=(process.stdout, table.arrow_schema, batches, stop),
            name="sqlite-reader-pipe",
            daemon=True,
        )
        pump.start()
        finished = False
        self._streaming = True
        try:
            while True:
                item = batches.get()
                if item is _END:
                    finished = True
                    self._streaming = False
                    return
                if isinstance(item, BaseException):
                    raise self._failure(f"reading {table.name}", item) from item
                yield item
        finally:
            if not finished:
                # Abandoned or failed mid-stream: the pipe is out of step, so this child cannot serve again.
                stop.set()
                self._kill()
                with contextlib.suppress(queue.Empty):
                    while True:
                        batches.get_nowait()
            pump.join(timeout=10)

    def _failure(self, doing: str, cause: BaseException | None = None) -> ReaderProcessError:
        process = self._process
        status: int | None = None
        if process is not None:
            try:
                status = process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._kill()
                status = process.returncode
        detail = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            detail = self._stderr.read()[-4000:].decode(errors="replace").strip()
        self._forget()
        reasons = [r for r in (detail, str(cause or "")) if r]
        return ReaderProcessError(
            f"the SQLite reader process failed while {doing} (exit status {status})"
            + (": " + "; ".join(reasons) if reasons else "")
        )

    def _kill(self) -> None:
        self._streaming = False
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def _forget(self) -> None:
        if self._process is not None:
            for pipe in (self._process.stdin, self._process.stdout):
                with contextlib.suppress(OSError):
                    if pipe is not None:
                        pipe.close()
        if self._stderr is not None:
            self._stderr.close()
        self._process, self._stderr = None, None

    def close(self) -> None:
        """End the child: EOF on its stdin lets it exit; it is killed if it does not within a few seconds."""
        process = self._process
        if process is None:
            return
        if self._streaming:  # it would finish writing an answer nobody reads first
            self._kill()
        with contextlib.suppress(OSError):
            if process.stdin is not None:
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._kill()
        self._forget()


def _pump(pipe: IO[bytes], schema: pa.Schema, batches: queue.Queue[Any], stop: threading.Event) -> None:
    """Move one IPC stream's record batches from the pipe into the queue; then _END, or the exception."""

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    try:
        reader = pa.ipc.open_stream(pipe)
        if not reader.schema.equals(schema):
            raise ReaderProcessError(f"unexpected schema from the reader process: {reader.schema}")
        rows = 0
        for batch in reader:
            rows += batch.num_rows
            if not put(batch):
                return
        trailer = pipe.read(8)
        if len(trailer) != 8 or struct.unpack("<q", trailer)[0] != rows:
            raise EOFError(f"the stream ended after {rows} rows without the reader's trailer")
        put(_END)
    except BaseException as exc:  # handed to the consumer, which raises it with the child's status
        put(exc)
