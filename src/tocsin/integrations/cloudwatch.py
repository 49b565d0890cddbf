"""Amazon CloudWatch alarms delivered by an SNS HTTP(S) subscription.

SNS posts JSON (with ``Content-Type: text/plain``) and names the kind of message in ``x-amz-sns-message-type``:
``SubscriptionConfirmation`` (confirm by GET on ``SubscribeURL``), ``Notification`` (the CloudWatch alarm is a
JSON string in ``Message``) and ``UnsubscribeConfirmation``.

Every message is signed: ``Signature`` is base64 of RSA PKCS#1 v1.5 over the canonical string — each signed field
as ``Key\\nValue\\n`` in a fixed order — with SHA-1 (``SignatureVersion`` 1) or SHA-256 (2), by the key of the
certificate at ``SigningCertURL``, which must be served over https by ``sns.<region>.amazonaws.com``. This module
checks the signature against a certificate the caller fetched; fetching is the transport's business.

The alarm: ``AlarmName`` is the dedup key, so the OK that follows an ALARM resolves it. ``NewStateValue`` ALARM
triggers, OK resolves, and INSUFFICIENT_DATA changes nothing (a new alarm or a sparse metric says so all the
time; an alarm that should page on missing data treats missing data as breaching).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tocsin.alerts.schemas import NormalizedEvent
from tocsin.core.errors import BadRequest
from tocsin.integrations._fields import Problems, parse_timestamp, require_object

INVALID = "SNS message is invalid"
ALARM_INVALID = "CloudWatch alarm is invalid"
MESSAGE_TYPES = ("SubscriptionConfirmation", "Notification", "UnsubscribeConfirmation")
# The fields each kind of message signs, in the order SNS puts them in the canonical string.
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
SNS_HOST = re.compile(r"^sns\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com(\.cn)?$")
# SNS's default delivery policy retries for well under a minute; an hour leaves room for custom policies while
# refusing a signed message captured long ago and played back.
MAX_AGE = timedelta(hours=1)
MAX_FUTURE = timedelta(minutes=5)
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")


@dataclass(frozen=True, slots=True)
class SnsMessage:
    type: str
    message_id: str
    topic_arn: str
    message: str
    timestamp: datetime
    signature_version: str
    signature: bytes
    signing_cert_url: str
    subscribe_url: str | None
    fields: dict[str, Any]


def parse_envelope(data: object, header_type: str | None) -> SnsMessage:
    """The SNS message around the alarm, with every field the signature needs."""
    body = require_object(data, "message", INVALID)
    problems = Problems()
    kind = problems.choice(body, "Type", "Type", MESSAGE_TYPES)
    if header_type is None:
        problems.add("header 'x-amz-sns-message-type' is required")
    elif kind is not None and header_type != kind:
        problems.add(f"header 'x-amz-sns-message-type' is {header_type!r} but 'Type' is {kind!r}")
    message_id = problems.string(body, "MessageId", "MessageId", required=True)
    topic_arn = problems.string(body, "TopicArn", "TopicArn", required=True)
    message = problems.string(body, "Message", "Message", required=True)
    stamp = problems.timestamp(body, "Timestamp", "Timestamp")
    if body.get("Timestamp") is None:
        problems.add("'Timestamp' is required")
    version = problems.choice(body, "SignatureVersion", "SignatureVersion", ("1", "2"))
    signature_text = problems.string(body, "Signature", "Signature", required=True)
    cert_url = problems.string(body, "SigningCertURL", "SigningCertURL", required=True)
    subscribe_url = problems.string(body, "SubscribeURL", "SubscribeURL", required=kind != "Notification")
    if kind is not None and kind != "Notification":
        problems.string(body, "Token", "Token", required=True)
    if body.get("Subject") is not None:
        problems.string(body, "Subject", "Subject")
    signature = b""
    if signature_text is not None:
        try:
            signature = base64.b64decode(signature_text, validate=True)
        except (binascii.Error, ValueError):
            problems.add("'Signature' must be base64")
    problems.raise_if_any(INVALID)
    if not (kind and message_id and topic_arn and version and cert_url) or message is None or stamp is None:
        raise BadRequest(INVALID)  # every one of these was reported above; this narrows the types
    return SnsMessage(
        type=kind,
        message_id=message_id,
        topic_arn=topic_arn,
        message=message,
        timestamp=stamp,
        signature_version=version,
        signature=signature,
        signing_cert_url=cert_url,
        subscribe_url=subscribe_url,
        fields=body,
    )


def canonical_string(fields: dict[str, Any], kind: str) -> bytes:
    """What SNS signs: ``Key\\nValue\\n`` for each signed field present, in SNS's order."""
    parts: list[str] = []
    for name in SIGNED_FIELDS[kind]:
        value = fields.get(name)
        if value is None:
            continue
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode()


def verify_signature(message: SnsMessage, certificate_pem: bytes, *, now: datetime) -> bool:
    """Whether the message was signed by the key of this certificate (which must be valid at ``now``)."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError:
        return False
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        return False
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    digest: hashes.HashAlgorithm = hashes.SHA1() if message.signature_version == "1" else hashes.SHA256()  # noqa: S303
    try:
        key.verify(message.signature, canonical_string(message.fields, message.type), padding.PKCS1v15(), digest)
    except InvalidSignature:
        return False
    return True


def is_fresh(message: SnsMessage, now: datetime) -> bool:
    return now - MAX_AGE <= message.timestamp <= now + MAX_FUTURE


def is_sns_url(url: str) -> bool:
    """An https URL on an SNS host: the only place a certificate is fetched from or a subscription confirmed at."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    return (
        parts.scheme == "https"
        and port in (None, 443)
        and parts.username is None
        and parts.password is None
        and SNS_HOST.match(host) is not None
    )


def parse_alarm(message: SnsMessage) -> list[NormalizedEvent]:
    """The CloudWatch alarm carried by a Notification: one event, or none for INSUFFICIENT_DATA."""
    try:
        data = orjson.loads(message.message)
    except orjson.JSONDecodeError:
        raise BadRequest(ALARM_INVALID, errors=["'Message' must be a CloudWatch alarm in JSON"]) from None
    alarm = require_object(data, "'Message'", ALARM_INVALID)
    problems = Problems()
    name = problems.string(alarm, "AlarmName", "Message.AlarmName", required=True, max_len=MAX_DEDUP_KEY)
    state = problems.choice(alarm, "NewStateValue", "Message.NewStateValue", STATES)
    description = problems.string(alarm, "AlarmDescription", "Message.AlarmDescription")
    reason = problems.string(alarm, "NewStateReason", "Message.NewStateReason")
    changed = problems.string(alarm, "StateChangeTime", "Message.StateChangeTime")
    arn = problems.string(alarm, "AlarmArn", "Message.AlarmArn")
    trigger = problems.mapping(alarm, "Trigger", "Message.Trigger")
    problems.raise_if_any(ALARM_INVALID)
    if name is None:
        raise BadRequest(ALARM_INVALID)
    if state == "INSUFFICIENT_DATA":
        return []
    summary = f"{name}: {description}" if description else name
    region = _region_of(arn)
    links = []
    if region:
        links.append(
            {
                "href": f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{name}",
                "text": "CloudWatch alarm",
            }
        )
    return [
        NormalizedEvent(
            action="trigger" if state == "ALARM" else "resolve",
            dedup_key=name,
            summary=summary[:MAX_SUMMARY],
            severity="critical",
            source=_source(trigger) or region or "",
            timestamp=parse_timestamp(changed) if changed else None,
            details={
                "NewStateReason": reason,
                "OldStateValue": alarm.get("OldStateValue"),
                "AlarmArn": arn,
                "AWSAccountId": alarm.get("AWSAccountId"),
                "Region": alarm.get("Region"),
                "Trigger": trigger,
                "TopicArn": message.topic_arn,
                "MessageId": message.message_id,
            },
            links=links,
            client="Amazon CloudWatch",
        )
    ]


def _region_of(arn: str | None) -> str | None:
    # arn:aws:cloudwatch:<region>:<account>:alarm:<name>
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


def _source(trigger: dict[str, Any] | None) -> str | None:
    """The first dimension's value (an instance id, a load balancer, a queue): what the alarm is about."""
    dimensions = (trigger or {}).get("Dimensions")
    if isinstance(dimensions, list):
        for dimension in dimensions:
            if isinstance(dimension, dict) and isinstance(dimension.get("value"), str):
                return str(dimension["value"])[:255]
    return None
