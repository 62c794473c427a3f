"""Hub ids that cannot be fetched: each cause gets its own message (downloading disabled by local_files_only or
HF_HUB_OFFLINE, the hub unreachable, the hub answering with an error, no such repo, a gated repo, no such
revision). The "hub" is a server on 127.0.0.1 or a closed local port: no test touches the network."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import constants

from vocos_stream import CheckpointError, Vocos


class FakeHub(http.server.BaseHTTPRequestHandler):
    """Answers every request with the status and ``X-Error-Code`` the hub uses for the case in ``server.case``."""

    def do_GET(self) -> None:
        status, code = self.server.case  # type: ignore[attr-defined]
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("Content-Type", "application/json")
        body = b'{"error": "fake hub"}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[http.server.HTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def load_error(tmp_path: Path, **options: object) -> str:
    with pytest.raises(CheckpointError) as e:
        Vocos.from_pretrained("someone/vocos-x", cache_dir=tmp_path / "cache", **options)  # type: ignore[arg-type]
    return str(e.value)


def test_local_files_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    message = load_error(tmp_path, local_files_only=True)
    assert "not in the Hugging Face cache and local_files_only=True forbids downloading it" in message
    assert "HF_HUB_OFFLINE" not in message and "network" not in message.split("to work without network")[0]


def test_offline_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    message = load_error(tmp_path)
    assert "HF_HUB_OFFLINE is set, which forbids downloading it: unset HF_HUB_OFFLINE" in message
    assert "local_files_only" not in message


def test_unreachable_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a local port that nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    message = load_error(tmp_path)
    assert f"the Hugging Face hub (http://127.0.0.1:{port}) cannot be reached" in message
    assert "check the network connection" in message and "offline" not in message.lower().split("without network")[0]


@pytest.mark.parametrize(
    "case,says",
    [
        ((404, "RepoNotFound"), "no Hugging Face repo 'someone/vocos-x': check the spelling"),
        ((401, "RepoNotFound"), "no Hugging Face repo 'someone/vocos-x'"),
        ((403, "GatedRepo"), "is gated: accept its conditions"),
        ((404, "RevisionNotFound"), "has no revision"),
        ((500, None), "the Hugging Face hub answered HTTP 500: try again later"),
    ],
)
def test_hub_answers(tmp_path: Path, hub: http.server.HTTPServer, case: tuple[int, str | None], says: str) -> None:
    hub.case = case  # type: ignore[attr-defined]
    message = load_error(tmp_path)
    assert says in message, message
    assert "HF_HUB_OFFLINE" not in message and "local_files_only" not in message
