"""Refuse outbound requests to addresses that only make sense from inside our own network.

Users configure webhook (and similar) URLs; without a guard, a URL such as ``http://169.254.169.254/`` or
``http://127.1:5432/`` turns Tocsin into a proxy into its own network. ``UrlGuard.resolve`` parses a URL the
same way the HTTP client will (``httpx.URL``), resolves the host with ``getaddrinfo`` and refuses it unless
*every* address it resolves to is a public unicast address. Numeric host spellings that C resolvers accept
(``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``) are decoded by ``parse_numeric_ipv4`` as well, so
that they are caught even when the platform resolver would not expand them the same way.

DNS rebinding: a name may resolve to a public address when checked and to a private one when the client
connects. ``resolve`` therefore returns the checked addresses, and callers connect to the first of them
(``Resolved.pinned``) while sending the original name in the Host header and as the TLS server name; the
webhook provider does this, so no second, unchecked lookup happens for a guarded request.

An admin allow-list (host names, or IP networks in CIDR notation) lets chosen internal targets through.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from tocsin.core.errors import Forbidden, Unavailable
from tocsin.core.numbers import is_ascii_digits

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class UnresolvableHost(Unavailable):
    """The host name did not resolve (a transient condition as far as a sender is concerned)."""


def parse_numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Decode the inet_aton spellings of an IPv4 address: 1 to 4 parts, each decimal, 0x-hex or 0-octal.

    ``127.1`` is 127.0.0.1, ``2130706433`` and ``0x7f000001`` are 127.0.0.1, ``0177.0.0.1`` is 127.0.0.1.
    Returns None when ``host`` is not such a number.
    """
    text = host.strip().rstrip(".").lower()
    if not text:
        return None
    parts = text.split(".")
    if len(parts) > 4:
        return None
    values: list[int] = []
    for part in parts:
        if not part:
            return None
        try:
            if part.startswith("0x"):
                value = int(part[2:] or "0", 16)
            elif len(part) > 1 and part.startswith("0"):
                value = int(part[1:], 8)
            else:
                if not is_ascii_digits(part):
                    return None
                value = int(part, 10)
        except ValueError:
            return None
        values.append(value)
    # The last part fills all the remaining bytes; the others are one byte each.
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = 0
    for v in head:
        number = (number << 8) | v
    number = (number << (8 * (4 - len(head)))) | last
    return ipaddress.IPv4Address(number)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # IPv4-compatible (deprecated) ::a.b.c.d
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip))
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why an address must not be contacted, or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = blocked_reason(inner)
            return f"embeds {inner}, which {reason}" if reason else None
        if ip in _NAT64_LOCAL:
            return "is a local-use NAT64 address"
    if ip.is_loopback:
        return "is a loopback address"
    if ip.is_unspecified:
        return "is the unspecified address"
    if ip.is_link_local:
        return "is a link-local address (cloud metadata services live here)"
    if ip.is_multicast:
        return "is a multicast address"
    # Deprecated (RFC 3879) but still routed inside some networks, and Python counts it as global.
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "is a site-local (fec0::/10) address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "is a carrier-grade NAT (100.64.0.0/10) address"
    if ip.is_private:
        return "is a private-network address"
    if ip.is_reserved:
        return "is a reserved address"
    if not ip.is_global:
        return "is not a public address"
    return None


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Resolved:
    """A checked URL and the addresses its host resolved to (connect to ``pinned``: no second lookup)."""

    url: httpx.URL
    host: str
    port: int
    addresses: tuple[IPAddress, ...]
    allow_listed: bool

    @property
    def pinned(self) -> IPAddress:
        return self.addresses[0]


class UrlGuard:
    """Checks user-supplied outbound URLs. ``allow`` holds host names and/or CIDRs an admin trusts."""

    def __init__(self, allow: Iterable[str] = (), *, resolver: Resolver | None = None) -> None:
        self._hosts: set[str] = set()
        self._networks: list[IPNetwork] = []
        for entry in allow:
            item = entry.strip().lower().rstrip(".")
            if not item:
                continue
            try:
                self._networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self._hosts.add(item)
        self._resolve = resolver or _system_resolver

    def check(self, url: str | httpx.URL) -> None:
        """Raise Forbidden (with the reason) unless ``url`` may be contacted."""
        self.resolve(url)

    def _allowed_ip(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self._networks)

    def resolve(self, url: str | httpx.URL) -> Resolved:
        try:
            parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        except (httpx.InvalidURL, ValueError) as exc:
            raise Forbidden(f"not a valid URL: {exc}") from None
        if parsed.scheme not in ("http", "https"):
            scheme = parsed.scheme or "a relative URL"
            raise Forbidden(f"only http and https URLs are allowed, not {scheme!r}")
        host = parsed.host.lower().rstrip(".")
        if not host:
            raise Forbidden("the URL has no host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if host in self._hosts:
            return Resolved(parsed, host, port, self._lookup(host, port), allow_listed=True)

        literal: IPAddress | None
        try:
            literal = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            literal = parse_numeric_ipv4(host)
        if literal is not None:
            addresses: tuple[IPAddress, ...] = (literal,)
            # What the platform resolver makes of the same spelling must pass too.
            with contextlib.suppress(UnresolvableHost):
                addresses += tuple(a for a in self._lookup(host, port) if a != literal)
        else:
            if any(c in host for c in "%/\\@ ") or not host.isascii():
                raise Forbidden(f"host {host!r} is not a valid host name")
            addresses = self._lookup(host, port)
        for ip in addresses:
            if self._allowed_ip(ip):
                continue
            reason = blocked_reason(ip)
            if reason is not None:
                raise Forbidden(f"refusing to contact {host}: {ip} {reason}")
        allow_listed = all(self._allowed_ip(a) for a in addresses)
        return Resolved(parsed, host, port, addresses, allow_listed=allow_listed)

    def _lookup(self, host: str, port: int) -> tuple[IPAddress, ...]:
        try:
            raw = self._resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnresolvableHost(f"could not resolve {host}: {exc}") from None
        out: list[IPAddress] = []
        for text in raw:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
            if ip not in out:
                out.append(ip)
        if not out:
            raise UnresolvableHost(f"{host} resolved to no address")
        return tuple(out)


def pinned_request_target(resolved: Resolved) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL to connect to (host replaced by the checked address), the Host header, and httpx extensions.

    For https the original name is sent as the TLS server name, so certificate checks still use the name.
    """
    url = resolved.url
    target = url.copy_with(host=str(resolved.pinned))
    extensions = {"sni_hostname": resolved.host} if url.scheme == "https" else {}
    return target, {"Host": host_header(url)}, extensions


def host_header(url: httpx.URL) -> str:
    """The Host header of a request to ``url``: its host and port as written, without credentials."""
    return url.netloc.decode("ascii").rsplit("@", 1)[-1]
