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
