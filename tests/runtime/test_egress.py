"""The outbound HTTP guard: which addresses are refused, what the allowlist opens, pinning."""

from __future__ import annotations

import ipaddress
import re
import threading
from http.server import HTTPServer
from typing import Any

import httpx
import pytest

from flexor_iac.runtime.egress import (
    Allowlist,
    DestinationRefused,
    checked_addresses,
    guarded_client,
    refusal_reason,
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolver(table: dict[str, list[str]]) -> Any:
    """A resolver answering from `table` (IP literals answer themselves), counting its calls."""
    calls: list[str] = []

    def resolve(host: str, _port: int) -> list[Address]:
        calls.append(host)
        return [ipaddress.ip_address(a) for a in table.get(host, [host])]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("::1", "a loopback address"),
    ("::ffff:127.0.0.1", "a loopback address"),
    ("169.254.169.254", "a cloud metadata address"),
    ("fd00:ec2::254", "a cloud metadata address"),
    ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),
    ("169.254.1.1", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("192.168.1.1", "a private address"),
    ("fc00::1", "a private address"),
    ("0.0.0.0", "an unspecified address"),
    ("::", "an unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("100.64.0.1", "a non-public address"),
    ("8.8.8.8", None),
    ("2606:4700:4700::1111", None),
    # IPv6 forms that carry an IPv4 address are judged by it too: 6to4, Teredo, NAT64, mapped.
    ("2002:7f00:1::", "a loopback address"),
    ("2002:a9fe:a9fe::1", "a cloud metadata address"),
    ("2002:c0a8:101::", "a private address"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a loopback address"),  # Teredo client 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "a private address"),   # Teredo client 10.0.0.1
    ("64:ff9b::a00:1", "a private address"),
    ("::ffff:192.168.0.1", "a private address"),
])
def test_addresses_are_classified(address: str, reason: str | None) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


def _check(url: str, allowed: tuple[str, ...] = (), /, **table: list[str]) -> list[Address]:
    return checked_addresses(httpx.URL(url), Allowlist(allowed), resolver(table))


def test_a_refusal_names_the_host_and_the_kind_of_address_only() -> None:
    with pytest.raises(DestinationRefused) as loopback:
        _check("http://127.0.0.1:8080/internal-admin")
    with pytest.raises(DestinationRefused) as private:
        _check("https://intranet/T0/secret", intranet=["10.0.0.7"])
    assert str(loopback.value) == "127.0.0.1 is a loopback address"
    assert str(private.value) == "intranet resolves to a private address"


def test_every_address_a_name_resolves_to_must_be_allowed() -> None:
    with pytest.raises(DestinationRefused, match="resolves to a cloud metadata address"):
        _check("http://mixed.example/", **{"mixed.example": ["93.184.216.34",
                                                             "169.254.169.254"]})
    public = _check("http://public.example/", **{"public.example": ["93.184.216.34"]})
    assert public == [ipaddress.ip_address("93.184.216.34")]


def test_only_http_and_https() -> None:
    for url in ("ftp://93.184.216.34/x", "file:///etc/passwd"):
        with pytest.raises(DestinationRefused, match="only http and https"):
            _check(url)


def test_the_allowlist_opens_exactly_the_listed_host() -> None:
    assert _check("http://127.0.0.1:9/", ("127.0.0.1",)) == [ipaddress.ip_address("127.0.0.1")]
    assert _check("http://[::1]/", ("::1",)) == [ipaddress.ip_address("::1")]
    assert _check("http://relay.internal/", ("relay.internal",),
                  **{"relay.internal": ["10.0.0.9"]}) == [ipaddress.ip_address("10.0.0.9")]
    for url in ("http://127.0.0.2/", "http://[::1]/", "http://10.0.0.9/",
                "http://a.relay.internal/"):
        with pytest.raises(DestinationRefused):
            _check(url, ("127.0.0.1", "relay.internal"),
                   **{"a.relay.internal": ["10.0.0.9"]})


def test_a_host_port_entry_opens_only_that_port() -> None:
    assert _check("http://127.0.0.1:8080/", ("127.0.0.1:8080",))
    assert _check("http://[::1]:8080/", ("[::1]:8080",))
    assert _check("https://relay.internal/", ("relay.internal:443",),
                  **{"relay.internal": ["10.0.0.9"]})
    for url in ("http://127.0.0.1:8081/", "http://127.0.0.1/", "http://[::1]:22/"):
        with pytest.raises(DestinationRefused):
            _check(url, ("127.0.0.1:8080", "[::1]:8080"))


def test_the_client_connects_to_the_address_it_checked(hooks: HTTPServer) -> None:
    """A name only the guard's resolver knows: reaching the server proves the pinning."""
    port = hooks.server_port
    resolve = resolver({"hooks.test": ["127.0.0.1"]})
    with guarded_client(("hooks.test",), 5.0, resolve) as client:
        response = client.post(f"http://hooks.test:{port}/pinned", json={"n": 1})
    assert response.status_code == 200
    assert hooks.posts == [("/pinned", {"n": 1})]  # type: ignore[attr-defined]
    assert resolve.calls == ["hooks.test"]  # one resolution, used for the check and the connect


def test_the_client_tries_the_next_checked_address_if_one_cannot_connect(
        hooks: HTTPServer) -> None:
    resolve = resolver({"hooks.test": ["127.0.0.2", "127.0.0.1"]})  # nothing on 127.0.0.2
    with guarded_client(("hooks.test",), 5.0, resolve) as client:
        assert client.post(f"http://hooks.test:{hooks.server_port}/", json={}).status_code == 200
    assert len(hooks.posts) == 1  # type: ignore[attr-defined]


def test_the_client_refuses_before_any_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", no_network)
    with guarded_client((), 5.0) as client, pytest.raises(
            DestinationRefused, match=re.escape("169.254.169.254 is a cloud metadata address")):
        client.post("http://169.254.169.254/latest/meta-data/iam/", json={})


def test_redirects_are_not_followed_and_each_hop_would_be_checked(
        hooks: HTTPServer, redirector: HTTPServer) -> None:
    allowed = (f"127.0.0.1:{redirector.server_port}",)
    with guarded_client(allowed, 5.0) as client:
        assert client.follow_redirects is False
        url = f"http://127.0.0.1:{redirector.server_port}/hook"
        assert client.post(url, json={}).status_code == 307
        with pytest.raises(DestinationRefused, match=re.escape("127.0.0.1 is a loopback")):
            client.post(url, json={}, follow_redirects=True)  # the hop goes through the guard
    assert hooks.posts == []  # type: ignore[attr-defined]


def test_name_resolution_is_bounded_by_the_request_timeout() -> None:
    """A resolver that hangs cannot hold a run past its deadline (the client's timeout)."""
    release = threading.Event()

    def hanging(_host: str, _port: int) -> list[Address]:
        release.wait(3)
        return [ipaddress.ip_address("127.0.0.1")]  # port 9: nothing listens, refused at once

    try:
        with guarded_client(("slow.test",), 0.2, hanging) as client, pytest.raises(
                httpx.ConnectTimeout,
                match=re.escape("the destination could not be resolved in time (0.2 s)")):
            client.post("http://slow.test:9/hook", json={})
    finally:
        release.set()
