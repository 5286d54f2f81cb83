"""`relman audit` as a user runs it, against a real server; the log is then tampered with."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .servers import running_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "relman.yaml"


def test_the_audit_log_lists_refusals_exports_and_catches_an_edited_row(tmp_path: Path) -> None:
    with running_server(tmp_path / "home") as server:
        admin = server.cli("token", "create", "--user", "root", "--role", "admin").stdout.strip()
        ci = server.cli("token", "create", "--user", "ci", "--role", "deployer").stdout.strip()
        assert server.cli("apply", "-f", str(EXAMPLE), token=admin).returncode == 0
        refused = server.cli("apply", "-f", str(EXAMPLE), token=ci)
        assert refused.returncode == 6

        nobody = server.cli("audit", "list")
        assert nobody.returncode == 6, nobody.stderr
        listed = json.loads(server.cli("audit", "list", "--json", token=admin).stdout)
        newest = listed["items"][0]
        assert (newest["actor"], newest["action"], newest["object"]) == (
            "ci",
            "request.refused",
            "POST /api/v1/config/apply",
        )
        assert "needs role 'admin'" in newest["details"]["reason"]
        assert newest["details"]["role"] == "deployer"
        created = server.cli("audit", "list", "--action", "config.*", "--limit", "2", token=admin)
        assert created.returncode == 0, created.stderr
        assert "config.create" in created.stdout
        assert "--offset 2 shows older ones" in created.stdout

        intact = server.cli("audit", "verify", token=admin)
        assert intact.returncode == 0, intact.stderr
        total = listed["total"]
        assert f"The audit log is intact: {total} entries" in intact.stdout

        export = tmp_path / "audit.jsonl"
        exported = server.cli("audit", "export", "--jsonl", "-o", str(export), token=admin)
        assert exported.returncode == 0, exported.stderr
        lines = [json.loads(line) for line in export.read_text().splitlines()]
        assert [e["id"] for e in lines] == list(range(1, total + 1))
        assert f"Exported {total} audit entries" in exported.stderr
        offline = server.cli("audit", "verify", "--file", str(export), "--json")
        assert offline.returncode == 0, offline.stderr
        assert json.loads(offline.stdout)["head_hash"] == lines[-1]["hash"]

        with sqlite3.connect(tmp_path / "home" / "relman.db") as db:
            db.execute("UPDATE audit_events SET actor = 'mallory' WHERE id = 2")
        broken = server.cli("audit", "verify", token=admin)
        assert broken.returncode == 10
        assert "The audit log is broken at entry 2:" in broken.stderr
        assert "by mallory) was changed after it was written" in broken.stderr
        as_json = json.loads(server.cli("audit", "verify", "--json", token=admin).stdout)
        assert as_json["intact"] is False
        assert as_json["problem"]["entry"] == 2
        assert as_json["problem"]["kind"] == "changed"

        tampered = tmp_path / "tampered.jsonl"
        server.cli("audit", "export", "-o", str(tampered), token=admin)
        offline_broken = server.cli("audit", "verify", "--file", str(tampered))
        assert offline_broken.returncode == 10
        assert "broken at entry 2" in offline_broken.stderr

        garbage = tmp_path / "garbage.jsonl"
        garbage.write_text(export.read_text().splitlines()[0] + "\n{not json\n")
        bad = server.cli("audit", "verify", "--file", str(garbage))
        assert bad.returncode == 2
        assert "garbage.jsonl:2: not an audit entry" in bad.stderr
