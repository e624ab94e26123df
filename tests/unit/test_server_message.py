"""The server's reason for a refused upload, as the one line the user sees (``server_message``).

Each index says why in its own place: devpi and Warehouse in the reason phrase, pypiserver in an HTML
``<pre>``, others in a JSON field, an HTML heading or plain text. The same answers through the real
servers are in tests/integration/test_faults.py; here every shape is checked without a server.
"""

from __future__ import annotations

import json

import httpx
import pytest

from publish_plugins._text import MAX_SERVER_TEXT
from publish_plugins._upload_request import server_message

HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/json"}


def answer(
    status: int, body: bytes = b"", *, phrase: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A server's answer as the client reads it; ``phrase`` is the reason phrase on the status line."""
    extensions = {} if phrase is None else {"reason_phrase": phrase.encode("ascii")}
    return httpx.Response(status, content=body, headers=headers, extensions=extensions)


# ---- where each index puts its reason ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "message"),
    [
        pytest.param(
            answer(409, phrase="Conflict: demo-1.0.tar.gz already exists with other content"),
            "409 Conflict: Conflict: demo-1.0.tar.gz already exists with other content",
            id="devpi-reason-phrase",
        ),
        pytest.param(
            answer(
                400,
                b"<html><body><h1>400 Bad Request</h1></body></html>",
                phrase="File already exists. See https://pypi.org/help/#file-name-reuse",
                headers=HTML,
            ),
            "400 Bad Request: File already exists. See https://pypi.org/help/#file-name-reuse",
            id="warehouse-reason-phrase-wins-over-the-body",
        ),
        pytest.param(
            answer(
                409,
                b"<html><head><title>Error: 409 Conflict</title></head><body><h1>Error: 409 Conflict</h1>"
                b"<p>Sorry, the requested URL caused an error:</p>"
                b"<pre>File &#039;demo-1.0.tar.gz&#039; already exists!</pre></body></html>",
                headers=HTML,
            ),
            "409 Conflict: File 'demo-1.0.tar.gz' already exists!",
            id="pypiserver-pre",
        ),
        pytest.param(
            answer(400, b"<pre>bad\n   <b>metadata</b>\n</pre>", headers=HTML),
            "400 Bad Request: bad metadata",
            id="pre-tags-and-newlines-out",
        ),
        pytest.param(
            answer(400, json.dumps({"message": "invalid version", "detail": "other"}).encode(), headers=JSON),
            "400 Bad Request: invalid version",
            id="json-message",
        ),
        pytest.param(
            answer(403, json.dumps({"detail": "token lacks upload scope"}).encode(), headers=JSON),
            "403 Forbidden: token lacks upload scope",
            id="json-detail",
        ),
        pytest.param(
            answer(422, json.dumps({"errors": [], "error": "name mismatch"}).encode(), headers=JSON),
            "422 Unprocessable Entity: name mismatch",
            id="json-error",
        ),
        pytest.param(
            answer(400, json.dumps({"message": 7, "title": "Bad upload"}).encode(), headers=JSON),
            "400 Bad Request: Bad upload",
            id="json-non-text-field-skipped",
        ),
        pytest.param(
            answer(
                403,
                b"<!DOCTYPE html><html><head><title>Forbidden</title></head>"
                b"<body><h1 class='big'>Access  denied</h1><p>Ask an admin.</p></body></html>",
                headers=HTML,
            ),
            "403 Forbidden: Access denied",
            id="html-h1",
        ),
        pytest.param(
            answer(502, b"<h1>upstream</h1> timed out", headers=HTML),
            "502 Bad Gateway: upstream timed out",
            id="h1-outside-a-page-is-text",
        ),
        pytest.param(
            answer(413, b"Request body too large\n", headers={"Content-Type": "text/plain"}),
            "413 Request Entity Too Large: Request body too large",
            id="plain-text",
        ),
        pytest.param(
            answer(500, b"{not json", headers=JSON),
            "500 Internal Server Error: {not json",
            id="broken-json-as-text",
        ),
        pytest.param(answer(503), "503 Service Unavailable", id="no-body"),
        pytest.param(answer(599, b"timed out"), "599: timed out", id="unknown-status"),
    ],
)
def test_the_reason_is_found_where_each_index_puts_it(response: httpx.Response, message: str) -> None:
    assert server_message(response) == message


@pytest.mark.parametrize("body", [b"<html><body><pre>None</pre></body></html>", b"None", b"null", b"  "])
def test_an_empty_reason_adds_nothing(body: bytes) -> None:
    """pypiserver answers a refused login with ``<pre>None</pre>``: the status alone says more."""
    assert server_message(answer(403, body, headers=HTML)) == "403 Forbidden"


def test_the_standard_phrase_is_not_repeated_as_the_reason() -> None:
    """A reason phrase that is only the standard one leaves the body to say why."""
    response = answer(409, b"<pre>File exists</pre>", phrase="Conflict", headers=HTML)
    assert server_message(response) == "409 Conflict: File exists"


# ---- what the user must never see ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(answer(401, phrase="Bad credentials alice:s3cr3t-TOKEN"), id="in-the-phrase"),
        pytest.param(answer(401, b"<pre>password s3cr3t-TOKEN refused</pre>", headers=HTML), id="in-a-pre"),
        pytest.param(
            answer(401, json.dumps({"message": "token s3cr3t-TOKEN expired"}).encode(), headers=JSON),
            id="in-json",
        ),
    ],
)
def test_secrets_echoed_by_the_server_are_masked(response: httpx.Response) -> None:
    message = server_message(response, secrets_to_hide=("", "s3cr3t-TOKEN"))
    assert "s3cr3t" not in message
    assert "*****" in message


def test_escape_sequences_and_line_breaks_never_reach_the_terminal() -> None:
    response = answer(400, b"<pre>\x1b[2J\x1b]0;owned\x07bad\r\nrequest</pre>", headers=HTML)
    assert server_message(response) == "400 Bad Request: bad request"


def test_a_huge_error_page_gives_a_bounded_line() -> None:
    message = server_message(answer(500, b"x" * 1_000_000, headers={"Content-Type": "text/plain"}))
    prefix = "500 Internal Server Error: "
    assert message.startswith(prefix)
    assert len(message) == len(prefix) + MAX_SERVER_TEXT
    assert message.endswith("...")


def test_a_body_that_was_not_read_is_not_read_here() -> None:
    """A streamed answer whose body was not read: the status line alone, no error."""
    response = httpx.Response(500, stream=httpx.ByteStream(b"<pre>never read</pre>"), headers=HTML)
    assert server_message(response) == "500 Internal Server Error"
