"""Outbound HTTP only to allowed destinations.

Every request made through `guarded_client` resolves its host once, refuses it if any address
is loopback, link-local (cloud metadata included), private, unspecified, multicast, reserved
or otherwise not public — unless the allowlist opens it — and then connects only to the
addresses it checked (the URL is pinned to each in turn; Host and TLS SNI keep the name), so
DNS cannot answer differently between the check and the connection. An IPv6 address carrying
an IPv4 one (IPv4-mapped, NAT64, 6to4, Teredo) is judged by that IPv4 address too. Resolving
waits at most the request's connect timeout (which the run's deadline bounds). Redirects are
not followed (and any request the client makes, a redirect hop included, is checked the same
way).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[Address]]

SCHEMES = {"http": 80, "https": 443}
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
_KINDS: tuple[tuple[str, str], ...] = (
    ("is_unspecified", "an unspecified address"), ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"), ("is_private", "a private address"))


class DestinationRefused(Exception):
    """A request to a destination that is not allowed; says why, never what answered.

    `allowable`: whether an allowlist entry could open it (not so for a scheme or a missing host).
    """

    def __init__(self, reason: str, *, allowable: bool = True) -> None:
        super().__init__(reason)
        self.allowable = allowable


def _ip(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class NotResolvedInTime(httpx.ConnectTimeout):
    """The host's name was not resolved within the time the request may wait."""


def _translated(address: Address) -> Address:
    """The IPv4 address an IPv4-mapped or NAT64 IPv6 address stands for (else the address)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _carried_ipv4(address: Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses a 6to4 (2002::/16) or Teredo (2001::/32: server, client) address
    carries, which its packets are tunnelled to."""
    if not isinstance(address, ipaddress.IPv6Address):
        return ()
    return tuple(a for a in (address.sixtofour, *(address.teredo or ())) if a is not None)


def refusal_reason(address: Address) -> str | None:
    """Why an address may not be contacted ("a loopback address"), or None if it is public."""
    address = _translated(address)
    for carried in _carried_ipv4(address):
        if reason := refusal_reason(carried):
            return reason
    if address in METADATA:
        return "a cloud metadata address"
    for attribute, kind in _KINDS:
        if getattr(address, attribute):
            return kind
    return None if address.is_global else "a non-public address"


@dataclass(frozen=True)
class Allowlist:
    """Host names or IPs, each optionally with `:port` (`[v6]:port`), that open a destination."""

    entries: tuple[str, ...] = ()

    def _parsed(self) -> Iterable[tuple[str, int | None]]:
        for entry in self.entries:
            host, port = entry, None
            if entry.startswith("["):
                host, _, rest = entry[1:].partition("]")
                port = int(rest[1:]) if rest else None
            elif entry.count(":") == 1:
                host, text = entry.split(":")
                port = int(text)
            yield host.lower().rstrip("."), port

    def allows(self, host: str, port: int) -> bool:
        """Whether the host (a name compared exactly, or an IP) is listed for this port."""
        name, address = host.lower().rstrip("."), _ip(host)
        return any((entry == name or (address is not None and _ip(entry) == address))
                   and entry_port in (None, port) for entry, entry_port in self._parsed())


def resolve(host: str, port: int) -> list[Address]:
    """All the addresses `host` resolves to (an IP literal is its own answer)."""
    literal = _ip(host)
    if literal is not None:
        return [literal]
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise httpx.ConnectError(f"cannot resolve the host ({error})") from None
    return list(dict.fromkeys(ipaddress.ip_address(str(a[4][0]).partition("%")[0])
                              for a in answers))


def resolve_within(resolver: Resolver, host: str, port: int, seconds: float | None
                   ) -> list[Address]:
    """`resolver(host, port)`, waited for at most `seconds` (None: as long as it takes), else
    NotResolvedInTime. getaddrinfo cannot be interrupted: it runs in a daemon thread, which a
    slow resolver keeps until it answers while the request has already failed."""
    if seconds is None or _ip(host) is not None:
        return resolver(host, port)
    answer: list[list[Address] | BaseException] = []

    def work() -> None:
        try:
            answer.append(resolver(host, port))
        except BaseException as error:  # handed to the waiting request
            answer.append(error)

    worker = threading.Thread(target=work, name="egress-resolve", daemon=True)
    worker.start()
    worker.join(seconds)
    if not answer:
        raise NotResolvedInTime(f"the destination could not be resolved in time "
                                f"({seconds:.3g} s)")
    if isinstance(found := answer[0], BaseException):
        raise found
    return found


def checked_addresses(url: httpx.URL, allowlist: Allowlist, resolver: Resolver = resolve,
                      timeout: float | None = None) -> list[Address]:
    """The addresses to connect to for `url` (resolved within `timeout` seconds), or
    DestinationRefused naming the host and why."""
    if url.scheme not in SCHEMES:
        raise DestinationRefused("only http and https URLs are allowed", allowable=False)
    host = url.raw_host.decode("ascii")
    if not host:
        raise DestinationRefused("the URL names no host", allowable=False)
    port = url.port or SCHEMES[url.scheme]
    addresses = resolve_within(resolver, host, port, timeout)
    if not addresses:
        raise httpx.ConnectError("the host has no address")
    if allowlist.allows(host, port):
        return addresses
    for address in addresses:
        reason = refusal_reason(address)
        if reason and not allowlist.allows(str(address), port):
            verb = "is" if _ip(host) is not None else "resolves to"
            raise DestinationRefused(f"{host} {verb} {reason}")
    return addresses


class GuardedTransport(httpx.BaseTransport):
    """Checks each request's destination, then sends it to the checked address."""

    def __init__(self, allowlist: Allowlist, resolver: Resolver = resolve) -> None:
        self._allowlist = allowlist
        self._resolver = resolver
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Resolving is part of connecting: it may take as long as the connect timeout.
        wait = request.extensions.get("timeout", {}).get("connect")
        *others, last = checked_addresses(request.url, self._allowlist, self._resolver, wait)
        # The Host header was set from the original URL when the request was built.
        url = request.url
        request.extensions = {**request.extensions, "sni_hostname": url.raw_host.decode("ascii")}
        for address in others:  # as a plain connect would: the next address if one fails
            request.url = url.copy_with(host=str(address))
            try:
                return self._inner.handle_request(request)
            except httpx.ConnectError:
                pass
        request.url = url.copy_with(host=str(last))
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def guarded_client(allowed_hosts: Iterable[str], timeout: float,
                   resolver: Resolver = resolve) -> httpx.Client:
    """An httpx client that reaches only allowed destinations and follows no redirects.

    Proxies from the environment are not used: a proxy would connect on our behalf to
    whatever the name resolves to then, past the check.
    """
    transport = GuardedTransport(Allowlist(tuple(allowed_hosts)), resolver)
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False,
                        trust_env=False)
