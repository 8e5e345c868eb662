"""A real OpenID Provider for the national e-ID login tests: panva's oidc-provider (Node) behind a proxy.

    with OidcProvider() as op:                  # or the session fixture `oidc_provider`
        # configure the relying party with op.discovery_url, op.client_id, op.client_secret
        callback = op.login(authorize_url, {"personal_id": "048095123456", "identity_level": "2"})
        # -> "http://127.0.0.1:8000/api/v1/auth/eid/callback?code=...&state=..." (not followed)
        with op.tampering("alg_none"):         # token responses now carry an unsigned ID token
            ...

The world talks to a small reverse proxy (`op.issuer`), which forwards everything unchanged to the
Node process except, when `op.tamper` is set, the ID token in the token endpoint's answer. Ports are
chosen free on 127.0.0.1, so several providers (or test runs) coexist on one machine.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from tests.oidc_proxy import ALTERED_ID, TamperingProxy, TamperMode, tamper_id_token

__all__ = ["ALTERED_ID", "OidcProvider", "TamperMode", "encode_account", "ensure_node_modules", "tamper_id_token"]

OIDC_DIR = Path(__file__).parent / "oidc"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8000/api/v1/auth/eid/callback"
# Where Litestar's TestClient (base URL http://testserver.local) would receive the callback.
TEST_CLIENT_REDIRECT_URI = "http://testserver.local/api/v1/auth/eid/callback"
MIN_NODE = (20, 19)  # oidc-provider 9 uses crypto.hash and URL.parse; Debian 12's own Node 18 lacks them
_MAX_STEPS = 20


def encode_account(claims: Mapping[str, object]) -> str:
    """The login name that makes the provider log in an account with these claims (base64url JSON)."""
    raw = json.dumps(dict(claims), ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def ensure_node_modules() -> str:
    """Check Node and install tests/oidc's locked modules when missing or older than the lock; return `node`."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError("the OpenID Provider needs `node` and `npm` on PATH: run `make test-node-deps`")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if tuple(int(part) for part in version.lstrip("v").split(".")[:2]) < MIN_NODE:
        raise RuntimeError(f"the OpenID Provider needs Node >= {'.'.join(map(str, MIN_NODE))}, found {version}")
    stamp, lock = OIDC_DIR / "node_modules" / ".package-lock.json", OIDC_DIR / "package-lock.json"
    # Parallel test runs share tests/oidc/node_modules: one installs, the others wait for it.
    lock_file = Path(tempfile.gettempdir()) / f"cds-oidc-npm-{hashlib.sha256(bytes(OIDC_DIR)).hexdigest()[:12]}.lock"
    with lock_file.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
            return node
        command = [npm, "ci", "--prefix", str(OIDC_DIR), "--no-audit", "--no-fund"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
        stamp.touch()
    return node


class OidcProvider:
    """panva's oidc-provider with one confidential client, behind a tampering proxy; a context manager.

    `issuer`, `discovery_url`, `client_id`, `client_secret` and `redirect_uris` describe it to a
    relying party; `login()` plays the citizen's browser; `tamper` (or `tampering()`) forges ID tokens.
    """

    def __init__(
        self,
        redirect_uris: Sequence[str] = (DEFAULT_REDIRECT_URI,),
        *,
        extra_redirect_uris: Sequence[str] = (),
        client_id: str = "congdanso-test",
        client_secret: str | None = None,
        id_claim: str = "personal_id",
        level_claim: str = "identity_level",
        startup_timeout: float = 20.0,
    ) -> None:
        self.redirect_uris = [*redirect_uris, *extra_redirect_uris]
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.id_claim = id_claim
        self.level_claim = level_claim
        self.tamper: TamperMode | None = None
        self._startup_timeout = startup_timeout
        self._proxy: TamperingProxy | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._root: Path | None = None

    @property
    def issuer(self) -> str:
        if self._proxy is None:
            raise RuntimeError("OidcProvider is not started: use it as a context manager")
        host, port = self._proxy.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @contextlib.contextmanager
    def tampering(self, mode: TamperMode) -> Iterator[None]:
        """Forge ID tokens within the block only (the provider is shared by a whole session)."""
        self.tamper = mode
        try:
            yield
        finally:
            self.tamper = None

    # -- the citizen's browser ---------------------------------------------------------------------------------------

    def login(
        self,
        authorize_url: str,
        claims: Mapping[str, object],
        *,
        client: httpx.Client | None = None,
        login_name: str | None = None,
    ) -> str:
        """Log in at the provider with these claims and consent; return the redirect to the relying party.

        The final redirect (to a registered redirect URI, with `code` and `state`, or with `error`)
        is returned, not followed. A fresh cookie jar is used unless `client` is given; with a client
        that already holds a provider session, the login form is skipped and `claims` are ignored.
        `login_name` replaces the encoded claims verbatim (to type something invalid).
        """
        browser = client or httpx.Client(timeout=10, trust_env=False)
        typed = encode_account(claims) if login_name is None else login_name
        try:
            return self._browse(browser, authorize_url, typed)
        finally:
            if client is None:
                browser.close()

    def _browse(self, browser: httpx.Client, url: str, login_name: str) -> str:
        response = browser.get(url, follow_redirects=False)
        for _ in range(_MAX_STEPS):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if urlsplit(location)._replace(query="", fragment="").geturl() in self.redirect_uris:
                    return location
                if not location.startswith(self.issuer + "/"):
                    raise AssertionError(f"the login left the provider for an unregistered URI: {location}")
                response = browser.get(location, follow_redirects=False)
                continue
            if response.status_code != 200:
                raise AssertionError(f"the provider answered {response.status_code} at {response.url}: {response.text}")
            form = _first_post_form(response.text)
            if form is None:
                raise AssertionError(f"no form to submit at {response.url}: {response.text}")
            action, fields = form
            if "login" in fields:
                fields["login"] = login_name
            response = browser.post(urljoin(str(response.url), action), data=fields, follow_redirects=False)
        raise AssertionError(f"the login did not reach a redirect URI within {_MAX_STEPS} steps")

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def __enter__(self) -> OidcProvider:
        node = ensure_node_modules()
        self._root = Path(tempfile.mkdtemp(prefix="cds-oidc-"))
        atexit.register(self.close)
        try:
            proxy = TamperingProxy(lambda: self.tamper, lambda: self.id_claim)
            serve = functools.partial(proxy.serve_forever, poll_interval=0.05)  # shutdown() waits one interval
            threading.Thread(target=serve, name="oidc-proxy", daemon=True).start()
            self._proxy = proxy  # only once serving: shutdown() would wait forever for a server never started
            self._start_node(node)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop Node (SIGTERM, then SIGKILL) and the proxy, and remove the log folder. Safe to call twice."""
        atexit.unregister(self.close)
        process, self._process = self._process, None
        try:
            if process is not None:
                _terminate(process)
        finally:
            if self._proxy is not None:
                self._proxy.shutdown()
                self._proxy.server_close()
                self._proxy.upstream.close()
                self._proxy = None
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None

    def _start_node(self, node: str) -> None:
        assert self._root is not None and self._proxy is not None
        env = {
            **os.environ,
            "OP_PORT": "0",  # Node binds a free port itself and tells us which: no race with other runs
            "OP_ISSUER": self.issuer,
            "OP_CLIENT_ID": self.client_id,
            "OP_CLIENT_SECRET": self.client_secret,
            "OP_REDIRECT_URIS": ",".join(self.redirect_uris),
            "OP_ID_CLAIM": self.id_claim,
            "OP_LEVEL_CLAIM": self.level_claim,
            "OP_EXIT_ON_STDIN_EOF": "1",  # if pytest dies hard, Node's stdin closes and it exits too
        }
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [node, str(OIDC_DIR / "provider.mjs")],
                cwd=OIDC_DIR,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                bufsize=0,
                start_new_session=True,  # Ctrl+C in the terminal reaches pytest, not Node
            )
        deadline = time.monotonic() + self._startup_timeout
        self._proxy.set_upstream(f"http://127.0.0.1:{self._announced_port(deadline)}")
        last: object = None
        while True:
            try:
                last = httpx.get(self.discovery_url, timeout=2, trust_env=False)
                if last.status_code == 200:
                    return
            except httpx.HTTPError as exc:
                last = exc
            if time.monotonic() > deadline:
                raise RuntimeError(f"the OpenID Provider's discovery answered {last!r} at last:\n{self._log_tail()}")
            time.sleep(0.05)

    def _announced_port(self, deadline: float) -> int:
        """Read Node's one stdout line, `listening on http://127.0.0.1:PORT`, waiting at most until `deadline`."""
        assert self._process is not None and self._process.stdout is not None
        fd, line = self._process.stdout.fileno(), b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"the OpenID Provider did not announce its port in time:\n{self._log_tail()}")
            if select.select([fd], [], [], remaining)[0]:
                chunk = os.read(fd, 256)
                if not chunk:
                    code = self._process.wait(5)
                    raise RuntimeError(f"the OpenID Provider exited with code {code}:\n{self._log_tail()}")
                line += chunk
        match = re.fullmatch(rb"listening on http://127\.0\.0\.1:(\d+)\n", line)
        if match is None:
            raise RuntimeError(f"unexpected announcement from the OpenID Provider: {line!r}")
        return int(match.group(1))

    @property
    def _log_path(self) -> Path:
        assert self._root is not None
        return self._root / "provider.log"

    def _log_tail(self) -> str:
        if self._root is None or not self._log_path.exists():
            return ""
        return self._log_path.read_text(errors="replace")[-4000:]

    def __repr__(self) -> str:
        issuer = self.issuer if self._proxy is not None else None
        return f"OidcProvider(issuer={issuer!r}, client_id={self.client_id!r}, tamper={self.tamper!r})"


def _first_post_form(html: str) -> tuple[str, dict[str, str]] | None:
    """The action and the named inputs of the page's first POST form (the provider's pages have no JavaScript)."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms[0] if parser.forms else None


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and attributes.get("method", "get").lower() == "post":
            self._current = {}
            self.forms.append((attributes.get("action", ""), self._current))
        elif tag == "input" and self._current is not None and attributes.get("name"):
            self._current[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
