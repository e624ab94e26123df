"""Reads within bounds: size caps on decompressed bodies, broken encodings, whole-request deadlines.

An in-memory transport stands in for the server where the point is decoding; the deadline is tested
against a real socket that trickles (tests/integration/test_hostile_index.py through the real command).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator

import httpx
import pytest

from publish_plugins._bounded import BadAnswer, BadEncoding, BodyTooLarge, read_answer


class Pieces(httpx.SyncByteStream):
    def __init__(self, *pieces: bytes) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces


def _read(
    body: bytes, *, encoding: str = "", max_bytes: int = 1024, partial: bool = False, **headers: str
) -> bytes:
    def answer(request: httpx.Request) -> httpx.Response:
        all_headers = {"Content-Encoding": encoding} if encoding else {}
        all_headers.update(headers)
        # In pieces of 1000 bytes, as a socket delivers them.
        return httpx.Response(
            200, headers=all_headers, stream=Pieces(*(body[i : i + 1000] for i in range(0, len(body), 1000)))
        )

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        result = read_answer(
            client,
            "GET",
            "http://127.0.0.1/x",
            headers={},
            auth=None,
            timeout=5,
            max_bytes=max_bytes,
            partial=partial,
        )
    return result.body


@pytest.mark.parametrize("encoding", ["", "identity", "gzip", "x-gzip", "deflate", "raw-deflate"])
def test_bodies_are_decoded(encoding: str) -> None:
    body = b"<html>" + b"x" * 500 + b"</html>"
    if encoding in ("gzip", "x-gzip"):
        wire = gzip.compress(body)
    elif encoding == "deflate":
        wire = zlib.compress(body)
    elif encoding == "raw-deflate":
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        wire, encoding = compressor.compress(body) + compressor.flush(), "deflate"
    else:
        wire = body
    assert _read(wire, encoding=encoding) == body


def test_concatenated_gzip_members_are_one_body() -> None:
    assert _read(gzip.compress(b"first ") + gzip.compress(b"second"), encoding="gzip") == b"first second"


def test_a_gzip_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)  # 10 MB from about 10 KB
    with pytest.raises(BodyTooLarge):
        _read(bomb, encoding="gzip", max_bytes=1_000_000)


def test_a_raw_body_over_the_cap_is_refused() -> None:
    with pytest.raises(BodyTooLarge):
        _read(b"y" * 5000, max_bytes=1000)


def test_partial_keeps_the_start_of_a_large_body() -> None:
    assert _read(b"abc" * 1000, max_bytes=10, partial=True) == b"abcabcabca"


@pytest.mark.parametrize(
    ("encoding", "wire"),
    [("br", b"\x1b\x00"), ("gzip, gzip", b""), ("compress", b"x"), ("gzip", b"not gzip at all")],
)
def test_unknown_or_broken_encodings_are_refused(encoding: str, wire: bytes) -> None:
    with pytest.raises(BadEncoding):
        _read(wire or b"x", encoding=encoding)


def test_gzip_cut_short_is_refused() -> None:
    wire = gzip.compress(bytes(range(256)) * 100)
    with pytest.raises(BadEncoding, match="ends early"):
        _read(wire[: len(wire) // 2], encoding="gzip")


def test_an_invalid_location_is_a_bad_answer_not_an_httpx_exception() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "javascript:alert(1)"})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client, pytest.raises(BadAnswer):
        read_answer(client, "GET", "http://127.0.0.1/x", headers={}, auth=None, timeout=5)


def test_redirects_share_one_deadline() -> None:
    """Each hop of a redirect chain does not get a fresh --timeout: the page and its redirects, together."""
    import time

    from publish_plugins._simple_index import RetryableIndexError, fetch_project_files

    def answer(request: httpx.Request) -> httpx.Response:
        time.sleep(0.3)  # a slow hop
        hop = int(request.url.params.get("hop", "0"))
        if hop < 5:
            return httpx.Response(302, headers={"Location": f"/simple/demo/?hop={hop + 1}"}, stream=Pieces())
        return httpx.Response(404, stream=Pieces())

    with httpx.Client(transport=httpx.MockTransport(answer)) as client, pytest.raises(RetryableIndexError):
        fetch_project_files(
            client, "http://127.0.0.1/simple/", "demo", auth=None, auth_origin=None, timeout=1
        )
