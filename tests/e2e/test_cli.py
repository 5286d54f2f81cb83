"""The CLI as a user runs it: separate processes against a real server on loopback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .servers import Server, free_port, running_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "relman.yaml"
DIGEST = "sha256:" + "9f" * 32


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("cli") / "home") as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: Server) -> str:
    made = server.cli("token", "create", "--user", "root-admin", "--role", "admin")
    assert made.returncode == 0, made.stderr
    assert "shown only now" in made.stderr
    token = made.stdout.strip()
    assert token.startswith("relman_")
    return token


def _json(result) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert result.stdout, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_validate_then_apply_is_idempotent_and_dry_run_changes_nothing(
    server: Server, admin: str
) -> None:
    valid = server.cli("validate", "-f", str(EXAMPLE))
    assert valid.returncode == 0
    assert "is valid: 3 environments, 1 lifecycle, 2 services" in valid.stdout

    dry = _json(server.cli("apply", "-f", str(EXAMPLE), "--dry-run", "--json", token=admin))
    assert dry["dry_run"] is True
    assert "environment/staging" in dry["created"]
    assert _json(server.cli("status", "--json"))["services"] == []

    first = _json(server.cli("apply", "-f", str(EXAMPLE), "--json", token=admin))
    assert first["created"] == [
        "environment/dev",
        "environment/staging",
        "environment/production",
        "lifecycle/default",
        "service/api",
        "service/search",
    ]
    again = server.cli("apply", "-f", str(EXAMPLE), token=admin)
    assert again.returncode == 0
    assert "0 created, 0 changed, 6 unchanged" in again.stdout


def test_a_bad_file_exits_2_with_file_line_and_field_and_changes_nothing(
    server: Server, admin: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE.read_text().replace("soak: 1h", "soak: soon").replace("tier: staging", "tier: stg")
    )
    result = server.cli("apply", "-f", str(bad), token=admin)
    assert result.returncode == 2
    assert "2 problems" in result.stderr
    assert f"{bad}:5: environments[1].tier" in result.stderr
    assert f"{bad}:12: lifecycles[0].phases[2].soak" in result.stderr
    assert "Bad duration 'soon'" in result.stderr
    as_json = _json(server.cli("validate", "-f", str(bad), "--json"))
    assert as_json["error"]["code"] == "invalid_config"
    assert [i["line"] for i in as_json["error"]["details"]["issues"]] == [5, 12]
    tiers = {e["name"]: e["tier"] for e in _json(server.cli("status", "--json"))["environments"]}
    assert tiers.get("staging", "staging") == "staging"


def test_releases_are_registered_once_and_conflicts_exit_5(
    server: Server, admin: str, tmp_path: Path
) -> None:
    server.cli("apply", "-f", str(EXAMPLE), token=admin)
    notes = tmp_path / "notes.md"
    notes.write_text("## Features\n- faster search\n")
    args = ["release", "create", "api", "--version", "1.4.0", "--commit", "abc1234"]
    args += ["--notes", str(notes), "--artifact", f"api.tar.gz={DIGEST}", "--json"]
    made = _json(server.cli(*args, token=admin))
    assert (made["version"], made["commit"], made["notes"]) == (
        "1.4.0",
        "abc1234",
        notes.read_text(),
    )
    assert made["artifacts"] == [{"name": "api.tar.gz", "digest": DIGEST}]
    repeat = server.cli(*args, token=admin)
    assert repeat.returncode == 0
    assert _json(repeat)["id"] == made["id"]
    said = server.cli(*args[:-1], token=admin)
    assert "api 1.4.0 was already registered with this content" in said.stdout

    clash = server.cli(
        "release", "create", "api", "--version", "1.4.0", "--commit", "def5678", token=admin
    )
    assert clash.returncode == 5
    assert "api 1.4.0 already exists and differs in commit, notes, artifacts" in clash.stderr

    bad = server.cli("release", "create", "api", "--version", "v1.5", token=admin)
    assert bad.returncode == 2
    assert "drop the leading 'v'" in bad.stderr

    missing = server.cli("release", "create", "nope", "--version", "1.0.0", "--json", token=admin)
    assert missing.returncode == 4
    assert _json(missing)["error"]["code"] == "not_found"


def test_status_shows_recorded_deployments(server: Server, admin: str) -> None:
    server.cli("apply", "-f", str(EXAMPLE), token=admin)
    server.cli("release", "create", "search", "--version", "2.0.0-rc.1", token=admin)
    recorded = server.cli(
        "deployments", "record", "search", "2.0.0-rc.1", "--env", "dev", token=admin
    )
    assert recorded.returncode == 0, recorded.stderr
    assert "search 2.0.0-rc.1 → dev (succeeded)" in recorded.stdout
    inventory = _json(server.cli("status", "--json"))
    search = next(s for s in inventory["services"] if s["name"] == "search")
    assert search["cells"]["dev"]["version"] == "2.0.0-rc.1"
    assert search["cells"]["dev"]["deployed_by"] == "root-admin"
    table = server.cli("status")
    assert table.returncode == 0
    assert "2.0.0-rc.1" in table.stdout
    listed = _json(server.cli("deployments", "list", "--service", "search", "--json"))
    assert [d["version"] for d in listed["items"]] == ["2.0.0-rc.1"]


def test_tokens_are_listed_and_a_revoked_one_exits_6(server: Server, admin: str) -> None:
    made = server.cli("token", "create", "--user", "ci", "--role", "deployer", "--json")
    ci = _json(made)
    listed = _json(server.cli("token", "list", "--json", token=admin))
    assert ci["id"] in [t["id"] for t in listed["items"]]
    assert ci["token"] not in json.dumps(listed)
    forbidden = server.cli("token", "list", token=ci["token"])
    assert forbidden.returncode == 6
    assert "needs role 'admin'" in forbidden.stderr
    assert server.cli("token", "revoke", ci["id"], token=admin).returncode == 0
    revoked = server.cli("release", "create", "api", "--version", "9.9.9", token=ci["token"])
    assert revoked.returncode == 6
    assert "revoked" in revoked.stderr


def test_no_token_and_no_server_have_their_own_exit_codes(server: Server) -> None:
    anonymous = server.cli("apply", "-f", str(EXAMPLE))
    assert anonymous.returncode == 6
    assert "relman token create" in anonymous.stderr
    down = Server(f"http://127.0.0.1:{free_port()}", server.home, server.process)
    unreachable = down.cli("status")
    assert unreachable.returncode == 7
    assert "Cannot reach the relman server" in unreachable.stderr


@pytest.mark.parametrize(
    ("traffic", "through"),
    [
        ("haproxy", "HAProxy, judged from Prometheus"),
        ("router", "relman's development router, judged from the builtin metrics"),
    ],
)
def test_the_demo_server_shows_a_real_matrix_after_its_promotions(
    tmp_path: Path, traffic: str, through: str
) -> None:
    if traffic == "haproxy" and not (shutil.which("haproxy") and shutil.which("prometheus")):
        pytest.skip("HAProxy or Prometheus is not installed ('make test' installs both)")
    env = {"RELMAN_DEMO_TRAFFIC": traffic}
    with running_server(tmp_path / "home", "--demo", env_extra=env) as demo:
        started = _json(demo.cli("deployments", "list", "--limit", "6", "--json"))["items"]
        ended = {}
        for deployment in reversed(started):  # the demo's promotions, run by its worker
            watched = _json(demo.cli("deployments", "watch", str(deployment["id"]), "--json"))
            shown = _json(demo.cli("deployments", "show", str(deployment["id"]), "--json"))
            ended[(watched["service"], watched["version"])] = shown
            if watched["service"] == "billing":  # it fails; its automatic rollback goes on
                demo.cli("deployments", "watch", str(shown["rolled_back_by"]), "--json")
        shop_url, shop_through = _live_canary(demo)
        waiting = _json(demo.cli("deployments", "list", "--service", "docs-site", "--json"))
        docs = waiting["items"][0]
        why = demo.cli("deployments", "show", str(docs["id"])).stdout
        rita = demo.cli("token", "create", "--user", "rita", "--role", "release-manager")
        approved = demo.cli("approve", str(docs["id"]), token=rita.stdout.strip())
        published = _json(demo.cli("deployments", "watch", str(docs["id"]), "--json"))
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
            shop_answers = {client.get(shop_url).text.strip() for _ in range(20)}
        inventory = _json(demo.cli("status", "--json"))
        page = demo.cli("status").stdout
        brings = demo.cli(
            "notes", "--service", "web", "--env", "production", "--candidate", "3.2.0"
        )
        html = httpx.get(demo.url + "/").text
    # docs-site 1.1.0 waited for a release-manager's approval, then went out
    assert (docs["version"], docs["state"]) == ("1.1.0", "waiting")
    assert "waiting for approval: needs 1 approval from a release-manager: 0 of 1" in why
    assert approved.returncode == 0, approved.stderr
    assert published["state"] == "succeeded"
    assert sorted((d["service"], d["version"], d["environment"]) for d in started) == [
        ("api", "1.4.0", "production"),
        ("billing", "2.1.0", "production"),
        ("shop", "1.0.0", "production"),
        ("shop", "1.1.0", "production"),
        ("shop", "1.2.0", "production"),
        ("web", "3.2.0", "staging"),
    ]
    # the live canary: a good release judged and promoted, a bad one rolled back by itself
    good, bad = ended[("shop", "1.1.0")], ended[("shop", "1.2.0")]
    assert good["state"] == "succeeded", good
    judged = [m["phase"] for m in good["measurements"] if m["step"] is not None]
    assert len(judged) == 3, judged  # count 3; one scrape may lag: inconclusive_limit 1
    assert judged.count("successful") >= 2, judged
    assert set(judged) <= {"successful", "inconclusive"}, judged
    assert bad["state"] == "rolled_back", bad
    assert bad["reason"].startswith("analysis shop-errors failed"), bad["reason"]
    assert bad["weights"] == {"green": 100, "blue": 0}
    assert shop_answers == {"hello from 1.1.0 (green)"}
    assert shop_through == through
    names = [s["name"] for s in inventory["services"]]
    assert names == ["api", "billing", "docs-site", "shop", "web"]
    assert [e["name"] for e in inventory["environments"]] == ["dev", "staging", "production"]
    cells = {s["name"]: s["cells"] for s in inventory["services"]}
    assert cells["api"]["production"]["version"] == "1.4.0"
    assert cells["web"]["staging"]["version"] == "3.2.0"
    billing = cells["billing"]["production"]
    assert billing["version"] == "2.0.3"  # 2.1.0 failed its health check and was rolled back
    assert billing["deployed_by"] == "relman"
    assert "2.0.3" in page
    assert '<table id="inventory">' in html
    assert '<table id="deployments">' in html
    assert "rolled back" in html
    assert brings.returncode == 0, brings.stderr
    assert "web 3.2.0 → production (runs 3.1.0): adds 2 releases" in brings.stderr
    headings = [line.split()[1] for line in brings.stdout.splitlines() if line.startswith("## ")]
    assert headings == ["3.2.0", "3.1.1"]
    assert "- **checkout:** one-page checkout" in brings.stdout


def _live_canary(server: Server) -> tuple[str, str]:
    """The shop's address and what carries its traffic, as `relman serve` told."""
    log = (server.home.parent / f"serve-{server.url.rsplit(':', 1)[1]}.log").read_text()
    line = log.split("the demo's shop answers at ", 1)[1].split("\n", 1)[0]
    url, through = line.split(" (through ", 1)
    return url, through.removesuffix(")")


def test_version_and_help_need_no_server(tmp_path: Path) -> None:
    offline = Server(f"http://127.0.0.1:{free_port()}", tmp_path, None)  # type: ignore[arg-type]
    version = offline.cli("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("relman 0.")
    usage = offline.cli("release", "create")
    assert usage.returncode == 2
    assert "Missing argument" in usage.stderr


def test_local_commands_say_when_they_made_a_new_store(tmp_path: Path) -> None:
    local = Server(f"http://127.0.0.1:{free_port()}", tmp_path / "home", None)  # type: ignore[arg-type]
    upgraded = _json(local.cli("db", "upgrade", "--json"))
    assert upgraded == {"store": f"sqlite:///{tmp_path}/home/relman.db", "created": True}
    elsewhere = Server(local.url, tmp_path / "other", None)  # type: ignore[arg-type]
    first = elsewhere.cli("token", "create", "--user", "me", "--role", "viewer")
    assert "there was no relman store at" in first.stderr
    second = elsewhere.cli("token", "create", "--user", "me", "--role", "viewer")
    assert second.returncode == 0
    assert "no relman store" not in second.stderr


def test_serve_on_a_busy_port_fails_before_touching_the_store(
    server: Server, tmp_path: Path
) -> None:
    port = server.url.rsplit(":", 1)[1]
    home = tmp_path / "second"
    second = Server(server.url, home, None)  # type: ignore[arg-type]
    result = second.cli("serve", "--port", port, "--demo")
    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}: is in use" in result.stderr
    assert not home.exists()
