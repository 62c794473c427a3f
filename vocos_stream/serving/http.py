"""Plain HTTP on the websocket port: routing of the opening request, bearer-token auth, health, stats, static.

``websockets`` hands every request to ``process_request`` before the upgrade: a websocket upgrade on ``/`` or
``/ws`` passes (if authorised); anything else is answered here: ``GET /health``, ``GET /stats``, and the
browser page (``/`` -> ``index.html``) and its files from the static folder.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import mimetypes
import re
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request, Response

WEBSOCKET_PATHS = ("/", "/ws")
STATIC_DIR = Path(__file__).parent / "static"
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # one plain file name: no folders, no dot files


def request_token(request: Request) -> str | None:
    """The bearer token of a request: ``Authorization: Bearer T`` or the query parameter ``token``."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    values = parse_qs(urlsplit(request.path).query).get("token")
    return values[0] if values else None


def authorised(request: Request, token: str | None) -> bool:
    if token is None:
        return True
    given = request_token(request)
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _respond(
    connection: ServerConnection, status: HTTPStatus, body: bytes | str, content_type: str, **headers: str
) -> Response:
    response = connection.respond(status, "")
    data = body.encode() if isinstance(body, str) else body
    for name, value in {"Content-Type": content_type, "Content-Length": str(len(data)), **headers}.items():
        name = name.replace("_", "-")
        if name in response.headers:
            del response.headers[name]  # Headers[...] = ... appends
        response.headers[name] = value
    return dataclasses.replace(response, body=data)


def json_response(connection: ServerConnection, status: HTTPStatus, payload: dict[str, Any]) -> Response:
    return _respond(connection, status, json.dumps(payload, indent=1) + "\n", "application/json")


def text_response(connection: ServerConnection, status: HTTPStatus, text: str, **headers: str) -> Response:
    return _respond(connection, status, text + "\n", "text/plain; charset=utf-8", **headers)


def static_file(static_dir: Path, path: str) -> Path | None:
    """The file a GET of ``path`` names in the static folder (``/`` is ``index.html``), or None."""
    name = "index.html" if path in ("/", "/index.html") else path.lstrip("/")
    if not _STATIC_NAME.match(name):
        return None
    file = static_dir / name
    return file if file.is_file() else None


def make_process_request(
    *,
    token: str | None,
    health: Callable[[], tuple[bool, dict[str, Any]]],
    stats: Callable[[], dict[str, Any]],
    static_dir: Path = STATIC_DIR,
) -> Callable[[ServerConnection, Request], Response | None]:
    """The ``process_request`` hook of the server: None lets a websocket upgrade go on."""

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        upgrade = "websocket" in request.headers.get("Upgrade", "").lower()
        if upgrade:
            if path not in WEBSOCKET_PATHS:
                return text_response(connection, HTTPStatus.NOT_FOUND, f"no websocket at {path}; use / or /ws")
            if not authorised(request, token):
                return text_response(
                    connection,
                    HTTPStatus.UNAUTHORIZED,
                    "this server needs a token: send 'Authorization: Bearer TOKEN' or add ?token=TOKEN to the URL",
                    WWW_Authenticate="Bearer",
                )
            return None
        if path == "/health":
            ok, payload = health()
            return json_response(connection, HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, payload)
        if path == "/stats":
            if not authorised(request, token):
                return text_response(
                    connection, HTTPStatus.UNAUTHORIZED, "/stats needs the server's token", WWW_Authenticate="Bearer"
                )
            return json_response(connection, HTTPStatus.OK, stats())
        file = static_file(static_dir, path)
        if file is None:
            return text_response(connection, HTTPStatus.NOT_FOUND, f"nothing at {path}")
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type == "application/javascript":
            content_type += "; charset=utf-8"
        return _respond(connection, HTTPStatus.OK, file.read_bytes(), content_type, Cache_Control="no-cache")

    return process_request
