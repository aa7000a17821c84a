"""Download and verify: `chargan.corpora.download`, `chargan data download` (unpacking: test_archive.py).

A local HTTP server (127.0.0.1, a free port) serves a small tarball in the
official One Billion Word layout; it honours ``Range`` unless told not to and
can cut the connection after K bytes to simulate an interrupted download.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import re
import socket
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from chargan.cli.data import data
from chargan.corpora import CorpusError, load_corpus
from chargan.corpora.download import download, fetch_billion_word, part_path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "billion_word"
ROOT = "1-billion-word-language-modeling-benchmark-r13output"
TRAIN = f"{ROOT}/training-monolingual.tokenized.shuffled"
HELDOUT = f"{ROOT}/heldout-monolingual.tokenized.shuffled"
TARBALL = f"{ROOT}.tar.gz"


# ---------------------------------------------------------------- tarballs


def _sample_lines(n: int) -> list[bytes]:
    """``n`` tokenized sentences: the real sample when present, else generated ones."""
    lines: list[bytes] = []
    for path in sorted(SHARED.glob("*.txt")) if SHARED.is_dir() else []:
        lines += [ln for ln in path.read_bytes().splitlines() if ln.strip()][: n - len(lines)]
        if len(lines) >= n:
            return lines
    words = b"the of and to a in for is on that said it was year new market police team".split()
    while len(lines) < n:
        k = len(lines)
        lines.append(b" ".join(words[(k * 7 + j * 3) % len(words)] for j in range(5 + k % 20)) + b" .")
    return lines


@dataclass(frozen=True)
class Shards:
    tarball: bytes
    sha256: str
    shard1: bytes


@pytest.fixture(scope="module")
def shards() -> Shards:
    """A small tarball in the official layout: training shards 1 and 2, one heldout shard."""
    lines = _sample_lines(3000)
    shard1 = b"\n".join(lines[:1200]) + b"\n"
    shard2 = b"\n".join(lines[1200:2400]) + b"\n"
    heldout = b"\n".join(lines[2400:]) + b"\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for folder in (ROOT, TRAIN, HELDOUT):  # folder entries first, as GNU tar writes them
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, payload in {
            f"{TRAIN}/news.en-00001-of-00100": shard1,
            f"{TRAIN}/news.en-00002-of-00100": shard2,
            f"{HELDOUT}/news.en.heldout-00000-of-00050": heldout,
        }.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(payload), 0o644
            tar.addfile(info, io.BytesIO(payload))
    tarball = buf.getvalue()
    return Shards(tarball, hashlib.sha256(tarball).hexdigest(), shard1)


# ---------------------------------------------------------------- the server


@dataclass
class ServerState:
    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: int | None = None  # one-shot: close the connection after this many body bytes
    ignore_range: bool = False
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)


class _Handler(http.server.BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        state = self.state
        rng = self.headers.get("Range")
        state.requests.append((self.path, rng))
        body = state.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and not state.ignore_range:
            start = int(m.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        payload = body[start:]
        if state.cut_after is not None:
            payload, state.cut_after = payload[: state.cut_after], None
            self.close_connection = True  # EOF before Content-Length: an interrupted download
        self.wfile.write(payload)


@dataclass
class Server:
    state: ServerState
    port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def server() -> Iterator[Server]:
    state = ServerState()
    handler = type("Handler", (_Handler,), {"state": state})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Server(state, httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def served(server: Server, shards: Shards) -> Server:
    """The server with the sample tarball at /bw.tar.gz."""
    server.state.files["/bw.tar.gz"] = shards.tarball
    return server


def _all_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*")) if folder.exists() else []


# ---------------------------------------------------------------- download


def test_fetch_downloads_verifies_unpacks_and_loads(served: Server, shards: Shards, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    said: list[str] = []
    root = fetch_billion_word(data_dir, url=served.url("/bw.tar.gz"), sha256=shards.sha256, progress=False,
                              echo=said.append)
    assert root == (data_dir / ROOT).resolve()
    assert (root / "training-monolingual.tokenized.shuffled" / "news.en-00001-of-00100").read_bytes() == shards.shard1
    text = "\n".join(said)
    assert served.url("/bw.tar.gz") in text and str(data_dir / TARBALL) in text
    # Downloaded by this call -> deleted after unpacking; no partial or temporary files left.
    assert sorted(p.name for p in data_dir.iterdir()) == [ROOT]

    corpus = load_corpus("billion_word", data_dir=data_dir, seq_len=32, progress=False)
    assert corpus.ids.shape == (2400, 32)
    assert next(corpus.lines(limit=1)) == shards.shard1.decode().splitlines()[0][:32]

    # Second call: already unpacked, no request at all.
    n_requests = len(served.state.requests)
    said.clear()
    assert fetch_billion_word(data_dir, url=served.url("/bw.tar.gz"), progress=False, echo=said.append) == root
    assert len(served.state.requests) == n_requests
    assert "already unpacked" in said[0]


def test_fetch_uses_env_data_dir_and_keeps_archive(served: Server, shards: Shards, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARGAN_DATA_DIR", str(tmp_path / "env-data"))
    root = fetch_billion_word(url=served.url("/bw.tar.gz"), sha256=shards.sha256, progress=False,
                              echo=lambda s: None, keep_archive=True)
    assert root == (tmp_path / "env-data" / ROOT).resolve()
    assert (tmp_path / "env-data" / TARBALL).read_bytes() == shards.tarball


def test_interrupted_download_resumes_with_range(served: Server, shards: Shards, tmp_path: Path) -> None:
    dest, url = tmp_path / "bw.tar.gz", served.url("/bw.tar.gz")
    half = len(shards.tarball) // 2
    served.state.cut_after = half
    with pytest.raises(CorpusError) as err:
        download(url, dest, sha256=shards.sha256, progress=False, chunk_size=4096)
    assert url in str(err.value) and "--data-dir" in (err.value.hint or "")
    assert not dest.exists()
    part = part_path(dest)
    assert part.stat().st_size == half  # every byte received is kept

    assert download(url, dest, sha256=shards.sha256, progress=False, chunk_size=4096) == dest
    assert served.state.requests[-1] == ("/bw.tar.gz", f"bytes={half}-")
    assert dest.read_bytes() == shards.tarball
    assert not part.exists()


def test_server_ignoring_range_restarts_from_zero(served: Server, shards: Shards, tmp_path: Path) -> None:
    dest, url = tmp_path / "bw.tar.gz", served.url("/bw.tar.gz")
    part_path(dest).write_bytes(b"\xff" * 1000)  # a stale part that must not survive
    served.state.ignore_range = True
    download(url, dest, sha256=shards.sha256, progress=False, chunk_size=4096)
    assert served.state.requests == [("/bw.tar.gz", "bytes=1000-")]
    assert dest.read_bytes() == shards.tarball


def test_complete_part_416_is_accepted(served: Server, shards: Shards, tmp_path: Path) -> None:
    dest, url = tmp_path / "bw.tar.gz", served.url("/bw.tar.gz")
    part_path(dest).write_bytes(shards.tarball)
    download(url, dest, sha256=shards.sha256, progress=False)
    assert served.state.requests == [("/bw.tar.gz", f"bytes={len(shards.tarball)}-")]
    assert dest.read_bytes() == shards.tarball


def test_oversized_part_416_restarts(served: Server, shards: Shards, tmp_path: Path) -> None:
    dest, url = tmp_path / "bw.tar.gz", served.url("/bw.tar.gz")
    part_path(dest).write_bytes(b"x" * (len(shards.tarball) + 10))
    download(url, dest, sha256=shards.sha256, progress=False)
    assert [r for _, r in served.state.requests] == [f"bytes={len(shards.tarball) + 10}-", None]
    assert dest.read_bytes() == shards.tarball


def test_checksum_mismatch_is_rejected(served: Server, shards: Shards, tmp_path: Path) -> None:
    dest, url = tmp_path / "bw.tar.gz", served.url("/bw.tar.gz")
    wrong = "0" * 64
    with pytest.raises(CorpusError) as err:
        download(url, dest, sha256=wrong, progress=False)
    message = str(err.value)
    assert wrong in message and shards.sha256 in message and url in message
    assert not dest.exists() and not part_path(dest).exists()


def test_checksum_covers_the_resumed_part(served: Server, shards: Shards, tmp_path: Path) -> None:
    dest, url = tmp_path / "bw.tar.gz", served.url("/bw.tar.gz")
    bad_prefix = bytes(b ^ 0xFF for b in shards.tarball[:500])  # right size, wrong bytes
    part_path(dest).write_bytes(bad_prefix)
    with pytest.raises(CorpusError, match="checksum mismatch"):
        download(url, dest, sha256=shards.sha256, progress=False)
    assert served.state.requests == [("/bw.tar.gz", "bytes=500-")]
    assert not dest.exists() and not part_path(dest).exists()


def test_network_error_names_the_url(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.tar.gz"
    with pytest.raises(CorpusError) as err:
        download(url, tmp_path / "x.tar.gz", sha256=None, progress=False, timeout=5)
    assert url in str(err.value)
    assert "--data-dir" in err.value.hint and "network" in err.value.hint
    assert not (tmp_path / "x.tar.gz").exists()


def test_http_error_names_the_url(server: Server, tmp_path: Path) -> None:
    url = server.url("/missing.tar.gz")
    with pytest.raises(CorpusError, match="404") as err:
        download(url, tmp_path / "x.tar.gz", sha256=None, progress=False)
    assert url in str(err.value)


def test_bad_sha256_argument(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="SHA-256"):
        download("http://127.0.0.1:9/x", tmp_path / "x", sha256="abc", progress=False)


# ---------------------------------------------------------------- CLI


def test_cli_download(served: Server, shards: Shards, tmp_path: Path) -> None:
    data_dir = tmp_path / "D"
    result = CliRunner().invoke(data, [
        "download", "billion_word", "--url", served.url("/bw.tar.gz"),
        "--checksum", f"sha256:{shards.sha256.upper()}", "--data-dir", str(data_dir), "--no-progress",
    ])
    assert result.exit_code == 0, result.output
    assert str(data_dir / TARBALL) in result.output
    assert str((data_dir / ROOT).resolve()) in result.output
    assert (data_dir / TRAIN / "news.en-00002-of-00100").is_file()


@pytest.mark.parametrize("bad", ["md5:abc", "sha256:xyz", "0" * 64])
def test_cli_bad_checksum_format(bad: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(data, ["download", "billion_word", "--checksum", bad, "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--checksum" in result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_download_error_is_one_line(served: Server, tmp_path: Path) -> None:
    result = CliRunner().invoke(data, [
        "download", "billion_word", "--url", served.url("/bw.tar.gz"), "--checksum", "sha256:" + "0" * 64,
        "--data-dir", str(tmp_path / "D"), "--no-progress",
    ])
    assert result.exit_code == 1
    assert "Error: checksum mismatch" in result.output and "Traceback" not in result.output
