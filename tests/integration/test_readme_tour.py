"""The README's five-minute tour, run as written: ``make run``'s recipe on a fresh SQLite file, a real
``tocsin serve`` on a free port, then the tour's shell block step by step (real curl, real ``tocsin`` commands).

The README and the Makefile are read at run time, so changing either without the other breaks this test.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.mailbox import service as mailbox

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEMO_PORT = "127.0.0.1:8080"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tour_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the tour has no sh block"
    return match.group(1)


def tour_steps(block: str) -> tuple[str, dict[int, str]]:
    """The lines before step 1 (setup), and each numbered step's text (``# 1.`` … up to the next)."""
    parts = re.split(r"^# (\d+)\. .*$", block, flags=re.M)
    setup, rest = parts[0], parts[1:]
    steps = {int(number): text for number, text in zip(rest[::2], rest[1::2], strict=True)}
    return setup, steps


def run_recipe() -> list[str]:
    """The commands of ``make run``, with the Makefile's variables as given."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^run: \$\(STAMP\).*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "no run target in the Makefile"
    return [line.strip() for line in recipe.group(1).splitlines()]


def run_exports() -> dict[str, str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return dict(re.findall(r"^run: export (\w+) \?= (.*)$", makefile, re.M))


@pytest.fixture
def shell(tmp_path: Path) -> tuple[Path, dict[str, str], Callable[[str], str]]:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    # A fresh directory with the project's virtualenv where the README expects it.
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env["TOCSIN_DATABASE_URL"] = "sqlite:///./tocsin.db"  # the Makefile's default
    env["COLUMNS"] = "200"  # a terminal wide enough for the tables to keep titles on one line
    port, mail_port = _free_port(), _free_port()
    values = {"$(BIN)": ".venv/bin", "$(HOST)": "127.0.0.1", "$(PORT)": str(port), "$(MAIL_PORT)": str(mail_port)}

    def substitute(text: str) -> str:
        for name, value in values.items():
            text = text.replace(name, value)
        return text.replace(DEMO_PORT, f"127.0.0.1:{port}")

    for name, value in run_exports().items():
        env[name] = substitute(value)
    return tmp_path, env, substitute


def bash(cwd: Path, env: dict[str, str], script: str) -> str:
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done.stdout


def wait_for(what: str, check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_the_readme_tour_ends_in_a_page_in_the_outbox(
    shell: tuple[Path, dict[str, str], Callable[[str], str]],
) -> None:
    cwd, env, substitute = shell
    setup, steps = tour_steps(substitute(tour_block()))
    assert sorted(steps) == [1, 2, 3, 4], "the tour's steps changed: update this test with them"
    *prepare, serve = [substitute(line) for line in run_recipe()]
    assert serve.startswith(".venv/bin/tocsin serve"), serve

    printed = "".join(bash(cwd, env, line) for line in prepare)
    base = re.search(r"Sign in at (http://\S+)/login", printed)
    assert base, printed
    url = base.group(1)
    assert url.endswith(f":{substitute('$(PORT)')}")
    assert set(re.findall(r"http://[^\s/]+", printed)) == {url}, "every printed URL is the one serve answers on"
    password = re.search(r"admin@tocsin\.local / (\S+)", printed)
    assert password, printed

    log = cwd / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(["bash", "-c", f"exec {serve}"], cwd=cwd, env=env, stdout=out, stderr=out)
    db = Database(f"sqlite:///{cwd / 'tocsin.db'}")
    try:

        def ready() -> bool:
            assert server.poll() is None, log.read_text()
            try:
                return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("tocsin serve", ready)

        def mail_to_admin() -> list[str]:
            with db.reader() as s:
                return [m.subject for m in mailbox.newest(s, addresses=["admin@tocsin.local"])]

        # The tour's shell: its setup runs once, and each step then runs with the variables it left.
        tour_env = dict(line.split("=", 1) for line in bash(cwd, env, setup + "\nenv -0").split("\0") if "=" in line)
        assert len(tour_env.get("KEY", "")) == 32, "the setup exports the first integration key"
        # 1. The event, as curl sends it.
        answer = bash(cwd, tour_env, steps[1])
        assert '"status":"success"' in answer.replace(" ", ""), answer
        # 2. The incident, as the CLI lists it.
        listed = bash(cwd, tour_env, steps[2])
        assert "Disk 95% full on db1" in listed
        assert "#1" in listed
        # 3. The page, kept in the outbox (no mail server is configured), as the CLI lists it.
        wait_for("the page in the outbox", lambda: bool(mail_to_admin()))
        outbox = bash(cwd, tour_env, steps[3])
        assert "admin@tocsin.local" in outbox
        assert "Disk 95% full on db1" in outbox
        [subject] = mail_to_admin()
        assert subject.startswith("[Tocsin] #1 ")

        # ... and in the console, where the signed-in admin opens it and finds the one-click links.
        with httpx.Client(base_url=url, timeout=10) as browser:
            signed_in = browser.post(
                "/login", data={"email": "admin@tocsin.local", "password": password.group(1)}, follow_redirects=False
            )
            assert signed_in.status_code == 303, signed_in.text
            listing = browser.get("/outbox")
            assert "Disk 95% full on db1" in listing.text
            mail_id = re.search(r'href="/outbox/(\d+)"', listing.text)
            assert mail_id
            mail = browser.get(f"/outbox/{mail_id.group(1)}").text
            assert re.search(rf'Acknowledge: <a href="{re.escape(url)}/a/[^"]+"', mail)

        # Mail other programs send to the demo's SMTP port lands in the same outbox.
        host, _, mail_port = env["TOCSIN_OUTBOX_SMTP_LISTEN"].rpartition(":")
        message = EmailMessage()
        message["Subject"] = "Backup failed on db2"
        message["From"] = "cron@example.com"
        message["To"] = "ops@example.com"
        message.set_content("exit status 2\n")
        with smtplib.SMTP(host, int(mail_port), timeout=10) as smtp:
            smtp.send_message(message)
        with db.reader() as s:
            assert [m.subject for m in mailbox.newest(s, addresses=["ops@example.com"])] == ["Backup failed on db2"]

        # 4. Acknowledge and resolve from the CLI.
        bash(cwd, tour_env, steps[4])
        with db.reader() as s:
            incident = incidents.get(s, "#1")
            assert incident.status == "resolved"
            kinds = [(e.kind, e.source) for e in incidents.timeline(s, incident.id)]
        assert ("notified", "engine") in kinds
        assert ("acknowledged", "cli") in kinds
        assert ("resolved", "cli") in kinds
    finally:
        db.dispose()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
