"""Which Host names may reach this server: the defence against DNS rebinding.

A web page on the internet can point a name it owns (evil.example) at 127.0.0.1 and then call
"its own" server, which is now the learner's netplay: the browser sends `Host: evil.example`
and `Origin: http://evil.example`, so a same-origin check alone lets it through. Checking the
Host against the names this server is really reached by closes that, as Jupyter and Django do.

Allowed, whatever the port:
- the loopback names `localhost`, `127.0.0.1` and `[::1]`;
- the address the server is bound to (`--host`), when it is a name or a specific address;
- when bound to every interface (`0.0.0.0` or `::`), this machine's own hostname, so that
  classmates can use http://<hostname>:8000/;
- every IP literal (`10.0.0.5:8000`, `[fe80::1]`): rebinding needs a name the attacker's DNS
  answers for, and a page can only send an IP-literal Host from an origin that *is* that
  address, which a page from elsewhere never has;
- the names of `--allowed-hosts` (`.example.org` also allows every subdomain; `*` allows any).

A request without a Host header is not from a browser, so no rebinding rides on it: allowed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})
# What a Host header may hold at all: a name or address and a port. Anything else (userinfo,
# spaces, paths) is refused before it is parsed, so `evil@127.0.0.1` cannot pass as loopback.
_HOST_CHARS = re.compile(r"^[A-Za-z0-9.\-_:\[\]]{1,300}$")


def host_name(value: str) -> str | None:
    """The name in a Host header or URL netloc: lower case, no port, no brackets, no final
    dot; None when it is malformed (bad characters, bad port, an unbracketed IPv6 address)."""
    if not _HOST_CHARS.match(value):
        return None
    parts = urlsplit("//" + value)
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number in range
    except ValueError:
        return None
    name = parts.hostname
    if not name or (":" in name and not value.startswith("[")):
        return None
    return name.rstrip(".") or None


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """The Host names one server answers; see the module docstring for the rules."""

    def __init__(self, allowed: Iterable[str] = (), bound: str | None = None) -> None:
        allowed = tuple(allowed)
        self.any = "*" in allowed
        names = set(LOOPBACK_NAMES)
        self.suffixes: tuple[str, ...] = ()
        for entry in allowed:
            entry = entry.strip().lower().rstrip(".")
            if entry.startswith("."):  # `.example.org`: the domain and every subdomain
                self.suffixes += (entry,)
                names.add(entry[1:])
            elif entry and entry != "*":
                names.add(host_name(entry) or entry)
        if bound is not None:
            bound_name = bound.strip().strip("[]").lower()
            if bound_name in WILDCARD_ADDRESSES:
                # Every interface: the machine is meant to be reached by its own name too.
                hostname = socket.gethostname().lower().rstrip(".")
                if hostname:
                    names.add(hostname)
            else:
                names.add(bound_name.rstrip("."))
        self.names = frozenset(names)

    def allows(self, host: str | None) -> bool:
        """Whether a request with this Host header may be served (None: no header sent)."""
        if host is None or self.any:
            return True
        name = host_name(host)
        if name is None:
            return False
        return (
            name in self.names
            or is_ip_literal(name)
            or any(name.endswith(suffix) for suffix in self.suffixes)
        )


def refusal_text(host: str) -> str:
    """The body of a refused request: the Host it came with and the setting that allows it."""
    shown = "".join(c if 32 <= ord(c) < 127 else "?" for c in host[:100])
    name = host_name(host) or shown
    return (
        f'netplay does not answer to the Host "{shown}": it is not a name of this server, and a '
        "web page could use such a name to reach it (DNS rebinding). If you open netplay under "
        f"this name, start the server with --allowed-hosts {name} "
        f"(or NETPLAY_ALLOWED_HOSTS={name}).\n"
    )


class HostCheck:
    """Pure ASGI middleware: every HTTP request and WebSocket handshake whose Host is not
    allowed is refused before any route runs (HTTP: 400 with `refusal_text`; WebSocket: the
    handshake is closed before it is accepted, which the server answers with 403)."""

    def __init__(self, app: Any, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = dict(scope.get("headers") or []).get(b"host")
        host = raw.decode("latin-1") if raw is not None else None
        if self.policy.allows(host):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        body = refusal_text(host or "").encode()
        await send({
            "type": "http.response.start",
            "status": 400,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})
