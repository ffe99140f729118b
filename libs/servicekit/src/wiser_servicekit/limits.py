"""Request body limits, enforced while the body streams in: before the app parses it and before it authenticates.

`BodyLimits` is plain ASGI and sits outside every route. A request's whole body is read (and counted) before the
app sees any of it, so a body over its route's limit is refused with 413 problem+json whatever the route would
have answered (401 for a missing token, 404, 405), and a chunked body is counted as it arrives, never buffered
past the limit:

- every body is at most `json_bytes` (1 MB), held in memory;
- a route named in `routes` also takes multipart/form-data: the parts are followed as they stream past
  (python-multipart), each file at most `file_bytes`, each plain field at most `field_bytes`, at most `files`
  files and `fields` fields; the body is spooled to a temporary file (in memory only up to 1 MB), then
  replayed to the app.

A declared Content-Length over the limit is refused before a byte of the body is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MB = 2**20
REPLAY_CHUNK = 64 * 1024
DRAIN_SECONDS = 5.0


@dataclass(frozen=True)
class Multipart:
    """What one multipart/form-data request to a route may hold."""

    files: int = 20
    file_bytes: int = 50 * MB
    fields: int = 10
    field_bytes: int = 1 * MB

    @property
    def total(self) -> int:
        # The parts' own headers and boundaries: a few hundred bytes each; 64 KiB per part is generous.
        return self.files * self.file_bytes + self.fields * self.field_bytes + (self.files + self.fields) * 64 * 1024


@dataclass(frozen=True)
class UploadRoute:
    method: str
    path: str  # a regular expression matched against the whole path
    multipart: Multipart

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.fullmatch(self.path, path) is not None


class TooLarge(Exception):
    status, title = 413, "Request too large"

    def __init__(self, detail: str, code: str = "BODY_TOO_LARGE") -> None:
        super().__init__(detail)
        self.detail, self.code = detail, code


class Malformed(TooLarge):
    status, title = 400, "Malformed request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, "MALFORMED_MULTIPART")


class _PartCounter:
    """Follows multipart parts as bytes stream past; raises TooLarge when a part or the count of parts is over."""

    def __init__(self, boundary: bytes, rule: Multipart) -> None:
        self.rule = rule
        self.files = self.fields = 0
        self.size = 0
        self.is_file = False
        self.headers: list[tuple[bytes, bytes]] = []
        self._field = b""
        self._value = b""
        self._error: TooLarge | None = None
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_part_data": self._data,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
            },
        )

    def _begin(self) -> None:
        self.size, self.headers, self.is_file = 0, [], False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self.headers.append((self._field.lower(), self._value))
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        disposition = next((v for k, v in self.headers if k == b"content-disposition"), b"")
        _, options = parse_options_header(disposition)
        self.is_file = b"filename" in options or b"filename*" in options
        rule = self.rule
        if self.is_file:
            self.files += 1
            if self.files > rule.files:
                self._error = TooLarge(f"At most {rule.files} documents per request.", "TOO_MANY_DOCUMENTS")
        else:
            self.fields += 1
            if self.fields > rule.fields:
                self._error = TooLarge(f"At most {rule.fields} form fields per request.")

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.size += end - start
        limit = self.rule.file_bytes if self.is_file else self.rule.field_bytes
        if self.size > limit and self._error is None:
            what = "document" if self.is_file else "form field"
            self._error = TooLarge(
                f"Each {what} may be at most {limit // MB} MB.",
                "DOCUMENT_TOO_LARGE" if self.is_file else "BODY_TOO_LARGE",
            )

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)
        except Exception as e:
            # Not well-formed multipart: nothing the app could parse either; refused now, not read to its end.
            raise Malformed("The multipart body is malformed.") from e
        if self._error is not None:
            raise self._error


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    code: str,
    *,
    drain: Receive | None = None,
    drain_bytes: int = 8 * MB,
    headers: dict[str, str] | None = None,
    keep_alive: bool = False,
) -> None:
    """A problem+json answer sent by the middleware itself. With `drain`, the rest of the request body is read
    and dropped after the answer is on the wire (a client that sends its whole body before reading the answer
    still reads it); without, the connection closes."""
    body = json.dumps(
        {
            "type": f"https://wiser.example/problems/{code.lower().replace('_', '-')}",
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                # Unless the body was read to its end, the connection cannot carry another request.
                *(() if keep_alive else ((b"connection", b"close"),)),
                *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
            ],
        }
    )
    if drain is None:
        await send({"type": "http.response.body", "body": body})
        return
    await send({"type": "http.response.body", "body": body, "more_body": True})
    # Lingering close: read and drop what the client still sends (up to `drain_bytes`, for at most
    # `DRAIN_SECONDS`), so it can read the answer before the connection closes instead of a reset.
    deadline = time.monotonic() + DRAIN_SECONDS
    dropped = 0
    with contextlib.suppress(TimeoutError):
        while dropped < drain_bytes and time.monotonic() < deadline:
            message = await asyncio.wait_for(drain(), max(0.01, deadline - time.monotonic()))
            dropped += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
    await send({"type": "http.response.body", "body": b""})


class BodyLimits:
    def __init__(
        self, app: ASGIApp, *, json_bytes: int = 1 * MB, uploads: Sequence[UploadRoute] = (), spool_bytes: int = MB
    ) -> None:
        self.app, self.json_bytes, self.uploads, self.spool_bytes = app, json_bytes, tuple(uploads), spool_bytes

    def _rule(self, scope: Scope) -> tuple[int, _PartCounter | None]:
        content_type = _header(scope, b"content-type") or b""
        kind, options = parse_options_header(content_type)
        if kind == b"multipart/form-data" and options.get(b"boundary"):
            for route in self.uploads:
                if route.matches(scope.get("method", ""), scope.get("path", "")):
                    return route.multipart.total, _PartCounter(options[b"boundary"], route.multipart)
        return self.json_bytes, None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        chunked = b"chunked" in (_header(scope, b"transfer-encoding") or b"").lower()
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            await send_problem(send, 400, "Bad request", "Content-Length is not a number.", "BAD_REQUEST")
            return
        if not chunked and not length:
            await self.app(scope, receive, send)
            return
        limit, parts = self._rule(scope)
        if length is not None and length > limit:
            await self._refuse(send, TooLarge(f"The body may be at most {_size(limit)}."))
            return
        spool: IO[bytes] | bytearray = (
            tempfile.SpooledTemporaryFile(max_size=self.spool_bytes) if parts is not None else bytearray()
        )
        try:
            total = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                total += len(chunk)
                if total > limit:
                    raise TooLarge(f"The body may be at most {_size(limit)}.")
                if parts is not None:
                    parts.feed(chunk)
                if isinstance(spool, bytearray):
                    spool.extend(chunk)
                else:
                    spool.write(chunk)
                if not message.get("more_body", False):
                    break
        except TooLarge as e:
            if isinstance(spool, bytearray):
                spool.clear()
            else:
                spool.close()
            # What the client still sends is read and dropped for a moment (all of a declared length within the
            # route's limit: one part too large, say), so a client that sends before it reads gets the answer.
            rest = length - total if length is not None and length <= limit else 8 * MB
            await self._refuse(send, e, receive, rest)
            return
        try:
            await self.app(scope, _replay(spool, receive), send)
        finally:
            if not isinstance(spool, bytearray):
                spool.close()

    @staticmethod
    async def _refuse(send: Send, e: TooLarge, drain: Receive | None = None, drain_bytes: int = 0) -> None:
        await send_problem(send, e.status, e.title, e.detail, e.code, drain=drain, drain_bytes=drain_bytes)


def _size(n: int) -> str:
    return f"{n // MB} MB" if n >= MB else f"{n // 1024} KB"


def _replay(spool: IO[bytes] | bytearray, receive: Receive) -> Receive:
    """The body read so far, handed to the app again as it would have arrived; then the real receive."""
    if isinstance(spool, bytearray):
        pending: list[bytes] | None = [bytes(spool)]
    else:
        spool.seek(0)
        pending = None
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()
        if pending is not None:
            done = True
            return {"type": "http.request", "body": pending[0], "more_body": False}
        assert not isinstance(spool, bytearray)
        chunk = spool.read(REPLAY_CHUNK)
        more = len(chunk) == REPLAY_CHUNK and spool.read(1) != b""
        if more:
            spool.seek(-1, 1)
        else:
            done = True
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replay


def body_limits(app: Any, *, json_bytes: int = MB, uploads: Sequence[UploadRoute] = ()) -> None:
    """Install BodyLimits on a FastAPI/Starlette app as its outermost middleware."""
    app.add_middleware(BodyLimits, json_bytes=json_bytes, uploads=uploads)
