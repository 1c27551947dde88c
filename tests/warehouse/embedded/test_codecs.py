"""The request-body decoders on their own: whatever the pieces the body arrives in and whatever size is asked
for, the output is the body's data exactly once, every frame of a multi-frame body included, and no call
returns more than it was asked for."""

from __future__ import annotations

import gzip
import itertools
import os
import zlib

import lz4.frame
import pytest
from backports import zstd

from warehouse.embedded.codecs import decoder_for
from warehouse.errors import ClickHouseError

COMPRESS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "zstd": zstd.compress,
    "lz4": lz4.frame.compress,
}


def decode_all(encoding: str, wire: bytes, feed: int, limit: int) -> bytes:
    decoder = decoder_for(encoding)
    out: list[bytes] = []
    position = 0
    while True:
        if decoder.pending:
            piece = decoder.decode(b"", limit)
        elif position < len(wire):
            piece = decoder.decode(wire[position : position + feed], limit)
            position += feed
        else:
            break
        assert len(piece) <= limit
        out.append(piece)
    decoder.finish()
    return b"".join(out)


@pytest.mark.parametrize("encoding", sorted(COMPRESS))
def test_every_frame_comes_out_once_whatever_the_pieces(encoding: str) -> None:
    # Random bytes (frames that do not shrink), a long run (one that does), and a frame after each.
    parts = [os.urandom(70_000), b"0123456789", b"a" * 300_000, b"", b"tail"]
    wire = b"".join(COMPRESS[encoding](part) for part in parts)
    want = b"".join(parts)
    for feed, limit in itertools.product([len(wire), 65_536, 997], [7, 4096, 65_536, 1 << 20]):
        assert decode_all(encoding, wire, feed, limit) == want, (feed, limit)


@pytest.mark.parametrize("encoding", sorted(COMPRESS))
def test_a_body_cut_inside_a_frame_is_refused(encoding: str) -> None:
    wire = COMPRESS[encoding](b"x" * 100_000) + COMPRESS[encoding](os.urandom(5000))
    for cut in (len(wire) - 3, len(wire) // 2):
        with pytest.raises(ClickHouseError, match="Cannot decompress"):
            decode_all(encoding, wire[:cut], 1000, 4096)


@pytest.mark.parametrize("encoding", sorted(COMPRESS))
def test_a_body_of_tiny_frames_is_refused(encoding: str) -> None:
    """Empty frames carry no data and cost work each (and, given whole, a copy of all that follows): a body may
    have 64 frames and one per KiB of its compressed size, far more than a client sends (one per block)."""
    empty = COMPRESS[encoding](b"")
    with pytest.raises(ClickHouseError, match="frames"):
        decode_all(encoding, empty * ((1 << 20) // len(empty)), 1 << 20, 1 << 20)
    many = b"".join(COMPRESS[encoding](os.urandom(2000)) for _ in range(100))  # 100 frames of 2 KB: fine
    assert len(decode_all(encoding, many, 65_536, 4096)) == 200_000
