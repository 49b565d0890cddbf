"""The JavaScript of our Zabbix media type, run by Node.js with Zabbix's HttpRequest API, against a real server."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from sqlalchemy import select

from tests.compat.live_server import live_server
from tests.factories import make_service
from tocsin.alerts.models import Alert
from tocsin.db.session import Database

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(__file__).resolve().parent / "samples" / "zabbix"

# Zabbix's webhook API (HttpRequest, Zabbix.log) on top of Node.js, with curl for the synchronous POST.
ZABBIX_SHIM = r"""
const { execFileSync } = require('child_process');
const fs = require('fs');
function HttpRequest() { this.headers = []; this.status = 0; }
HttpRequest.prototype.addHeader = function (h) { this.headers.push(h); };
HttpRequest.prototype.setProxy = function () {};
HttpRequest.prototype.getStatus = function () { return this.status; };
HttpRequest.prototype.post = function (url, body) {
  const args = ['-s', '--max-time', '20', '-o', '-', '-w', '\n%{http_code}', '--data-binary', '@-'];
  this.headers.forEach(function (h) { args.push('-H', h); });
  args.push(url);
  const out = execFileSync('curl', args, { input: body }).toString();
  const cut = out.lastIndexOf('\n');
  this.status = parseInt(out.slice(cut + 1), 10);
  return out.slice(0, cut);
};
global.HttpRequest = HttpRequest;
global.Zabbix = { log: function () {} };
const script = fs.readFileSync(process.argv[2], 'utf8');
try {
  console.log(new Function('value', script)(fs.readFileSync(process.argv[3], 'utf8')));
} catch (e) {
  console.log('THROWN: ' + e);
  process.exit(1);
}
"""

pytestmark = [
    pytest.mark.compat,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
    pytest.mark.skipif(shutil.which("node") is None or shutil.which("curl") is None, reason="needs node and curl"),
]


def run_media_type(tmp_path: Path, params: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    document = yaml.safe_load((ROOT / "docs" / "integrations" / "zabbix_mediatype.yaml").read_text())
    (tmp_path / "script.js").write_text(document["zabbix_export"]["media_types"][0]["script"])
    (tmp_path / "shim.js").write_text(ZABBIX_SHIM)
    (tmp_path / "value.json").write_bytes(orjson.dumps(params))
    return subprocess.run(
        ["node", str(tmp_path / "shim.js"), str(tmp_path / "script.js"), str(tmp_path / "value.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_problem_acknowledge_recovery_through_the_media_type(db: Database, tmp_path: Path) -> None:
    with db.unit_of_work() as s:
        _, integration = make_service(s, datetime.now(UTC), name="zabbix-hosts", type="zabbix")
        key = integration.key
    with live_server(db) as base:
        url = f"{base}/integrations/{key}/zabbix"
        outputs = []
        for name in ("problem", "acknowledge", "recovery"):
            params = orjson.loads((SAMPLES / f"{name}.json").read_bytes()) | {"tocsin_url": url}
            done = run_media_type(tmp_path, params)
            outputs.append(done.stdout.strip())
            if name == "acknowledge":
                with db.reader() as s:
                    assert s.execute(select(Alert.status)).scalar_one() == "acknowledged"
        failed = run_media_type(tmp_path, {"tocsin_url": url, "event_value": "7"})

    assert outputs == ["OK", "OK", "OK"]
    assert failed.returncode == 1
    assert "THROWN: Tocsin answered HTTP 400" in failed.stdout
    assert "'event_value' must be 1 (problem) or 0 (recovery)" in failed.stdout
    with db.reader() as s:
        assert [(a.dedup_key, a.status) for a in s.execute(select(Alert)).scalars()] == [("48213", "resolved")]
