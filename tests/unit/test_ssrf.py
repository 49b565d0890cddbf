"""The SSRF guard refuses internal targets however they are spelled, unless an admin allow-listed them."""

from __future__ import annotations

import ipaddress

import pytest

from tocsin.core.errors import Forbidden
from tocsin.notify.ssrf import UnresolvableHost, UrlGuard, parse_numeric_ipv4, pinned_request_target


def fake_dns(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"no such host {host}")
        return table[host]

    return resolve


DNS = fake_dns(
    {
        "hooks.example.com": ["93.184.215.14"],
        "rebind.example.com": ["93.184.215.14", "10.0.0.5"],
        "metadata.example.com": ["169.254.169.254"],
        "v6local.example.com": ["fd00::1"],
        "mapped.example.com": ["::ffff:127.0.0.1"],
        "internal.corp": ["10.1.2.3"],
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("08.0.0.1", None),
    ],
)
def test_numeric_forms(text: str, expected: str | None) -> None:
    got = parse_numeric_ipv4(text)
    assert (str(got) if got else None) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/hook",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://172.31.255.255/",
        "http://192.168.1.1/",
        "http://[fc00::1]/",
        "http://[fd12:3456::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[fec0::1]/",
        "http://[feff:ffff::1]/",
        "http://100.64.0.1/",
        "http://100.127.255.254/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://0x7f.1:9000/",
        "http://127.0.0.1./",
        "https://user:pw@127.0.0.1/",
        "http://metadata.example.com/",
        "http://v6local.example.com/",
        "http://mapped.example.com/",
        "http://rebind.example.com/",
        "http://internal.corp/",
    ],
)
def test_internal_targets_are_refused(url: str) -> None:
    with pytest.raises(Forbidden) as info:
        UrlGuard(resolver=DNS if "example" in url or "corp" in url else None).check(url)
    assert "refusing" in info.value.detail or "not a valid" in info.value.detail


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "gopher://example.com/", "ftp://example.com/", "javascript:alert(1)", "/relative"],
)
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(Forbidden, match="http"):
        UrlGuard(resolver=DNS).check(url)


def test_public_host_passes_and_is_pinned() -> None:
    resolved = UrlGuard(resolver=DNS).resolve("https://hooks.example.com/in?x=1")
    assert resolved.pinned == ipaddress.ip_address("93.184.215.14")
    url, headers, extensions = pinned_request_target(resolved)
    assert str(url) == "https://93.184.215.14/in?x=1"
    assert headers == {"Host": "hooks.example.com"}
    assert extensions == {"sni_hostname": "hooks.example.com"}


def test_pinning_keeps_a_non_default_port_in_the_host_header() -> None:
    resolved = UrlGuard(resolver=DNS).resolve("http://hooks.example.com:8443/in")
    url, headers, extensions = pinned_request_target(resolved)
    assert str(url) == "http://93.184.215.14:8443/in"
    assert headers == {"Host": "hooks.example.com:8443"}
    assert extensions == {}


def test_unresolvable_host_is_transient() -> None:
    with pytest.raises(UnresolvableHost):
        UrlGuard(resolver=DNS).check("http://nowhere.example.com/")


def test_allow_list_by_host_name() -> None:
    guard = UrlGuard(["internal.corp"], resolver=DNS)
    guard.check("http://internal.corp/hook")
    with pytest.raises(Forbidden):
        guard.check("http://metadata.example.com/")


def test_allow_list_by_cidr() -> None:
    guard = UrlGuard(["10.0.0.0/8", "127.0.0.1/32"], resolver=DNS)
    guard.check("http://internal.corp/")
    guard.check("http://127.0.0.1:9000/")
    guard.check("http://2130706433/")
    with pytest.raises(Forbidden):
        guard.check("http://127.0.0.2/")
    with pytest.raises(Forbidden):
        guard.check("http://169.254.169.254/")
