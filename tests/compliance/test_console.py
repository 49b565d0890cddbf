"""Regulatory clocks in the console: the incident page's card classifies (with CSRF) and shows each deadline with
the countdown the page's script runs; a submission with a file upload is recorded (late ones need their reason,
shown beside the form); the compliance view and the printable draft; an observer reads but cannot act."""

from __future__ import annotations

from sqlalchemy import select

from tests.web.conftest import Console, console, password_hash  # noqa: F401  (the console harness)
from tocsin.compliance.models import Submission


def test_classify_count_down_and_submit_from_the_console(console: Console) -> None:  # noqa: F811
    console.login()
    console.trigger("Records exposed")
    csrf = console.csrf("/incidents/1")
    page = console.client.get("/incidents/1").text
    assert 'id="clocks"' in page
    assert "No regulatory regime applies to this incident yet." in page
    assert console.client.post("/incidents/1/clocks", data={"csrf": "forged", "regime": "gdpr-33"}).status_code == 403
    future = console.client.post(
        "/incidents/1/clocks", data={"csrf": csrf, "regime": "gdpr-33", "awareness_at": "2999-01-01T00:00"}
    )
    assert "is in the future" in future.text
    done = console.client.post("/incidents/1/clocks", data={"csrf": csrf, "regime": "gdpr-33"})
    assert "Classified: the clocks of GDPR Art. 33 personal data breach run" in done.text
    assert 'data-clock="gdpr-33:notification" data-status="running"' in done.text
    assert "data-countdown=" in done.text

    listing = console.client.get("/compliance").text
    assert "Records exposed" in listing
    assert "Notification to the supervisory authority" in listing

    late = console.client.post(
        "/incidents/1/clocks/gdpr-33/submissions",
        data={"csrf": csrf, "deadline": "notification", "summary": "Sent", "submitted_at": "2999-01-01T00:00"},
    )
    assert "is in the future" in late.text
    sent = console.client.post(
        "/incidents/1/clocks/gdpr-33/submissions",
        data={"csrf": csrf, "deadline": "notification", "summary": "Notified via the portal", "reference": "DPA-7"},
        files={"attachment": ("notice.pdf", b"%PDF-1.4 notice", "application/pdf")},
    )
    assert "Submission recorded" in sent.text
    assert 'data-clock="gdpr-33:notification" data-status="met"' in sent.text
    assert "notice.pdf (15 bytes)" in sent.text
    with console.db.reader() as s:
        (row,) = s.scalars(select(Submission))
        assert row.attachment == b"%PDF-1.4 notice"
        assert row.reference == "DPA-7"
    assert "Records exposed" not in console.client.get("/compliance").text, "a clock whose deadlines are met stops"

    draft = console.client.get("/incidents/1/clocks/gdpr-33/draft")
    assert draft.status_code == 200
    assert "Measures taken or proposed" in draft.text
    assert console.client.get("/incidents/1/clocks/dora/draft").status_code == 404

    console.client.cookies.clear()
    console.login("olga@example.com")
    observer_page = console.client.get("/incidents/1").text
    assert 'data-clock="gdpr-33:notification"' in observer_page
    assert 'action="/incidents/1/clocks"' not in observer_page
    observer_csrf = console.csrf("/incidents/1")
    refused = console.client.post("/incidents/1/clocks", data={"csrf": observer_csrf, "regime": "dora"})
    assert refused.status_code == 403
