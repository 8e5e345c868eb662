"""The tampering reverse proxy in front of the test OpenID Provider (see tests/oidc_provider.py).

Every request goes to the Node provider unchanged and every answer comes back unchanged (status,
headers, Set-Cookie, Location: redirects are not followed), except that, while a tamper mode is set,
the ID token in the token endpoint's JSON answer is forged the way an attacker on the wire would.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from joserfc import jwk, jws

TamperMode = Literal["alter_payload", "foreign_key", "alg_none"]

ALTERED_ID = "001099000001"  # what `alter_payload` puts in the ID claim

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "host", "content-length", "content-encoding", "accept-encoding"}
)
# Ours replace whatever a client sent, so the provider's URLs always name this proxy.
_NOT_FORWARDED = _HOP_BY_HOP | {"x-forwarded-host", "x-forwarded-proto", "x-forwarded-for"}


def tamper_id_token(token: str, mode: TamperMode, *, id_claim: str = "personal_id") -> str:
    """Forge an ID token the way an attacker on the wire would; a relying party must reject every result."""
    header_b64, payload_b64, signature = token.split(".")
    header: dict[str, Any] = json.loads(_b64decode(header_b64))
    if mode == "alter_payload":  # another citizen's ID under the provider's own header and signature
        payload = json.loads(_b64decode(payload_b64))
        payload[id_claim] = ALTERED_ID if payload.get(id_claim) != ALTERED_ID else ALTERED_ID[::-1]
        return f"{header_b64}.{_b64encode(json.dumps(payload).encode())}.{signature}"
    if mode == "foreign_key":  # the same claims, header and kid, signed by a key the provider never published
        key = _fresh_key(header["alg"])
        return jws.serialize_compact(header, _b64decode(payload_b64), key, algorithms=[header["alg"]])
    if mode == "alg_none":
        unsigned = {name: value for name, value in header.items() if name != "kid"} | {"alg": "none"}
        return f"{_b64encode(json.dumps(unsigned).encode())}.{payload_b64}."
    raise ValueError(f"unknown tamper mode {mode!r}")


class TamperingProxy(ThreadingHTTPServer):
    """Forwards every request to Node as is, except the ID token of a token response when tampering."""

    daemon_threads = True

    def __init__(self, tamper: Callable[[], TamperMode | None], id_claim: Callable[[], str]) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.tamper = tamper
        self.id_claim = id_claim
        self.upstream = httpx.Client(
            timeout=10,
            trust_env=False,
            follow_redirects=False,
            # An httpx client keeps the cookies it is sent; ours must not, or every browser would share
            # the first one's provider session. Cookies pass through in the headers instead.
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            # Node drops idle connections after 5 s; expiring ours sooner avoids reusing a closing one.
            limits=httpx.Limits(keepalive_expiry=2),
        )

    def set_upstream(self, url: str) -> None:
        self.upstream.base_url = httpx.URL(url)

    def rewrite(self, path: str, status: int, body: bytes) -> bytes:
        mode = self.tamper()
        if mode is None or status != 200 or urlsplit(path).path != "/token":
            return body
        answer = json.loads(body)
        if isinstance(answer.get("id_token"), str):
            answer["id_token"] = tamper_id_token(answer["id_token"], mode, id_claim=self.id_claim())
        return json.dumps(answer).encode()


class _ProxyHandler(BaseHTTPRequestHandler):
    server: TamperingProxy
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, each keep-alive response waits ~40 ms for an ACK.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def do_OPTIONS(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = [(name, value) for name, value in self.headers.items() if name.lower() not in _NOT_FORWARDED]
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        # oidc-provider (proxy = true) builds every URL it emits from these, so they all point at us.
        headers += [
            ("X-Forwarded-Host", host),
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-For", self.client_address[0]),
            ("Accept-Encoding", "identity"),
        ]
        try:
            answer = self.server.upstream.request(self.command, self.path, headers=headers, content=body)
        except httpx.HTTPError as exc:
            self._reply(502, [("Content-Type", "text/plain")], f"proxy: upstream failed: {exc!r}".encode())
            return
        try:
            content = self.server.rewrite(self.path, answer.status_code, answer.content)
        except (ValueError, KeyError) as exc:  # say so, rather than drop the connection
            self._reply(500, [("Content-Type", "text/plain")], f"proxy: tampering failed: {exc!r}".encode())
            return
        kept = [(name, value) for name, value in answer.headers.multi_items() if name.lower() not in _HOP_BY_HOP]
        self._reply(answer.status_code, kept, content, length=answer.headers.get("Content-Length"))

    def _reply(self, status: int, headers: list[tuple[str, str]], content: bytes, length: str | None = None) -> None:
        self.send_response_only(status)  # not send_response: Node's Date and no Server of ours
        for name, value in headers:
            self.send_header(name, value)
        # A HEAD answer has no body but announces the length a GET's would have.
        self.send_header("Content-Length", length if self.command == "HEAD" and length else str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown pytest's output


def _fresh_key(alg: str) -> jwk.Key:
    if alg.startswith(("RS", "PS")):
        return jwk.RSAKey.generate_key(2048)
    curves = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
    if alg in curves:
        return jwk.ECKey.generate_key(curves[alg])
    if alg in {"EdDSA", "Ed25519"}:
        return jwk.OKPKey.generate_key("Ed25519")
    raise ValueError(f"no key type known for alg {alg!r}")


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
