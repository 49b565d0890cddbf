"""The installable app's files (manifest, service worker, icons) and "Enable notifications on this device"."""

from __future__ import annotations

import base64
import json
import os
import re
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.web.conftest import Console
from tocsin.notify import contacts, push_keys
from tocsin.notify.models import ContactMethod
from tocsin.users import service as users


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_keys() -> dict[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": _b64(point), "auth": _b64(os.urandom(16))}


def test_the_manifest_names_an_installable_app_whose_icons_exist(console: Console) -> None:
    r = console.client.get("/manifest.webmanifest")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/manifest+json")
    manifest = r.json()
    assert (manifest["name"], manifest["short_name"], manifest["display"]) == ("Tocsin", "Tocsin", "standalone")
    assert manifest["start_url"] == "/me"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    sizes = set()
    for icon in manifest["icons"]:
        got = console.client.get(icon["src"])
        assert got.status_code == 200, icon
        assert got.headers["content-type"] == icon["type"]
        if icon["type"] == "image/png":
            body = got.content
            assert body[:8] == b"\x89PNG\r\n\x1a\n"
            assert body[12:16] == b"IHDR"
            width, height = struct.unpack(">II", body[16:24])
            assert f"{width}x{height}" == icon["sizes"]
            sizes.add(width)
        else:
            assert got.text.startswith("<svg")
    assert {192, 512} <= sizes


def test_the_service_worker_is_served_at_the_root(console: Console) -> None:
    r = console.client.get("/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["service-worker-allowed"] == "/"
    for handler in ('"push"', '"notificationclick"'):
        assert f"addEventListener({handler}" in r.text


def test_console_pages_link_the_manifest_and_allow_it(console: Console) -> None:
    console.login()
    r = console.client.get("/incidents")
    assert '<link rel="manifest" href="/manifest.webmanifest">' in r.text
    policy = r.headers["content-security-policy"]
    assert "manifest-src 'self'" in policy
    assert "worker-src 'self'" in policy


def _me(console: Console) -> tuple[int, str, str]:
    page = console.client.get("/me").text
    key = re.search(r'id="push-enable" data-key="([^"]+)"', page)
    assert key, "no push button on /me"
    with console.db.unit_of_work() as s:
        user_id = users.get_user(s, "alice@example.com").id
    return user_id, key.group(1), console.csrf("/me")


def test_a_device_subscribes_from_the_console(console: Console) -> None:
    console.login()
    user_id, key, csrf = _me(console)
    with console.db.unit_of_work() as s:
        assert key == push_keys.vapid_keys(s).public_key
    keys = browser_keys()
    body = {"endpoint": "https://push.example.net/send/abc", "keys": keys, "name": "Chrome on Android"}

    refused = console.client.post("/me/push-subscriptions", content=json.dumps(body))
    assert refused.status_code == 403
    headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    made = console.client.post("/me/push-subscriptions", content=json.dumps(body), headers=headers)
    assert made.status_code == 201, made.text
    cm_id = made.json()["id"]
    with console.db.reader() as s:
        cm = s.get(ContactMethod, cm_id)
        assert cm is not None
        assert (cm.user_id, cm.type, cm.name, cm.address) == (user_id, "webpush", "Chrome on Android", body["endpoint"])
        assert push_keys.read_keys(cm.secret) == push_keys.PushKeys(keys["p256dh"], keys["auth"])
        rules = sorted((r.urgency, r.delay_seconds) for r in contacts.rules(s, user_id) if r.contact_method_id == cm_id)
    assert rules == [("high", 0), ("low", 0)]

    # The same browser subscribing again (new keys) updates the one it has.
    again = {**body, "keys": browser_keys()}
    second = console.client.post("/me/push-subscriptions", content=json.dumps(again), headers=headers)
    assert second.status_code == 201
    assert second.json()["id"] == cm_id
    with console.db.reader() as s:
        methods = [m for m in contacts.contact_methods(s, user_id) if m.type == "webpush"]
        assert len(methods) == 1
        assert push_keys.read_keys(methods[0].secret) == push_keys.PushKeys(**again["keys"])
        assert len([r for r in contacts.rules(s, user_id) if r.contact_method_id == cm_id]) == 2
    # Shown on the person's page like any contact method.
    assert "Chrome on Android" in console.client.get("/me").text


def test_bad_subscriptions_are_refused(console: Console) -> None:
    console.login()
    _, _, csrf = _me(console)
    headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    good = {"endpoint": "https://push.example.net/send/x", "keys": browser_keys()}
    cases = [
        (b"not json", 400),
        (json.dumps([1, 2]).encode(), 400),
        (json.dumps({"endpoint": good["endpoint"]}).encode(), 400),
        (json.dumps({**good, "endpoint": "ftp://push.example.net/x"}).encode(), 422),
        (json.dumps({**good, "endpoint": 7}).encode(), 422),
        (json.dumps({**good, "keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}}).encode(), 422),
        (json.dumps({**good, "keys": {"p256dh": good["keys"]["p256dh"], "auth": "٣٣٣٣"}}).encode(), 422),
        (b"{" + b" " * 5000 + b"}", 413),
    ]
    for content, status in cases:
        r = console.client.post("/me/push-subscriptions", content=content, headers=headers)
        assert r.status_code == status, (content[:60], r.text)
    with console.db.reader() as s:
        alice = users.get_user(s, "alice@example.com")
        assert [m for m in contacts.contact_methods(s, alice.id) if m.type == "webpush"] == []


def test_signed_out_browsers_cannot_subscribe(console: Console) -> None:
    body = {"endpoint": "https://push.example.net/send/abc", "keys": browser_keys()}
    r = console.client.post("/me/push-subscriptions", content=json.dumps(body), follow_redirects=False)
    assert r.status_code in (303, 401)
