"""The upload body: the form's fields, then the file, then its digest; a known length; checks on the file."""

from __future__ import annotations

import hashlib
import os
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

import pytest
from tests.support.dists import make_wheel

from publish_plugins._distribution import read_distribution, upload_form_fields
from publish_plugins._hashing import DigestPrefetch
from publish_plugins._upload_request import FileChangedError, UploadBody


def _parts(body: UploadBody) -> list[Message]:
    data = b"".join(body)
    assert len(data) == body.length  # the Content-Length sent before the digests were known
    parsed = BytesParser().parsebytes(f"Content-Type: {body.content_type}\r\n\r\n".encode() + data)
    assert parsed.defects == []
    parts = parsed.get_payload()
    assert isinstance(parts, list)
    return parts


def _name(part: Message) -> str:
    return str(part.get_param("name", header="content-disposition"))


def test_the_digest_follows_the_file_and_the_fields_precede_it(tmp_path: Path) -> None:
    dist = read_distribution(make_wheel(tmp_path, "tiny-demo", "1.0", payload=os.urandom(300_000)))
    body = UploadBody(dist, upload_form_fields(dist))  # not hashed yet: the digest follows the file
    assert not body.digests_first
    parts = _parts(body)
    names = [_name(part) for part in parts]
    assert names[:4] == [":action", "protocol_version", "name", "version"]  # devpi reads these first
    assert names[-2:] == ["content", "sha256_digest"]
    content = parts[-2].get_payload(decode=True)
    assert content == dist.path.read_bytes()
    assert parts[-2].get_filename() == dist.filename
    assert parts[-1].get_payload(decode=True) == hashlib.sha256(content).hexdigest().encode()
    # One digest, as uv and twine 6.2+ send: no md5 (weak), no blake2 (Warehouse computes its own).
    assert [name for name in names if name.endswith("_digest")] == ["sha256_digest"]


def test_the_first_bytes_leave_before_the_file_is_hashed(tmp_path: Path) -> None:
    """The head is produced without the digest: nothing is hashed before the first byte goes out."""
    dist = read_distribution(make_wheel(tmp_path, "tiny-demo", "1.0", payload=os.urandom(300_000)))
    chunks = iter(UploadBody(dist, upload_form_fields(dist)))
    head = next(chunks)
    assert b'name="content"' in head
    assert b"_digest" not in head
    assert dist.known_sha256() is None
    rest = b"".join(chunks)
    assert dist.known_sha256() == hashlib.sha256(dist.path.read_bytes()).hexdigest()
    assert f'name="sha256_digest"\r\n\r\n{dist.known_sha256()}\r\n'.encode() in rest


def test_a_digest_known_already_goes_before_the_file(tmp_path: Path) -> None:
    """A re-run's or a small file's digest is known before the upload: it goes where twine and uv put it,
    before the file; only a digest still being computed follows the file."""
    path = make_wheel(tmp_path, "tiny-demo", "1.0", payload=os.urandom(3_000_000))
    prefetch = DigestPrefetch([path], ["sha256"])
    try:
        dist = read_distribution(path)
        dist.prefetched = prefetch.result(path)
        assert dist.prefetched is not None
        dist.prefetched.result(timeout=10)  # the background hashing is done
        body = UploadBody(dist, upload_form_fields(dist))
        parts = _parts(body)
    finally:
        prefetch.close()
    assert body.digests_first
    names = [_name(part) for part in parts]
    assert names[-2:] == ["sha256_digest", "content"]
    assert parts[-2].get_payload(decode=True) == hashlib.sha256(path.read_bytes()).hexdigest().encode()
    assert parts[-1].get_payload(decode=True) == path.read_bytes()


def test_a_file_changed_after_hashing_is_cut_off_before_its_last_byte(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "tiny-demo", "1.0", payload=os.urandom(300_000))
    dist = read_distribution(path)
    assert dist.sha256  # hashed for the run, as the index check does
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF  # same length, other bytes
    path.write_bytes(bytes(data))
    body = UploadBody(dist, upload_form_fields(dist))
    assert body.digests_first  # hashed before: the digest went first, the run's, not the changed file's
    sent = bytearray()

    def send_all() -> None:
        for chunk in body:
            sent.extend(chunk)

    with pytest.raises(FileChangedError, match="changed while it was being uploaded"):
        send_all()
    assert bytes(data) not in bytes(sent)  # the server never got the whole file
    assert len(sent) < body.length


def test_an_empty_form_part_list_still_makes_a_valid_body(tmp_path: Path) -> None:
    dist = read_distribution(make_wheel(tmp_path, "tiny-demo", "1.0"))
    parts = _parts(UploadBody(dist, [], digests=()))
    assert [_name(part) for part in parts] == ["content"]
    assert parts[0].get_payload(decode=True) == dist.path.read_bytes()
