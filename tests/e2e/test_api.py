from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from relman.api.app import create_app
from relman.store.database import Database

from .conftest import CONFIG, Api

DIGEST = "sha256:" + "0f" * 32


def _release(api: Api, version: str = "1.4.0", role: str = "deployer", **extra: object):  # type: ignore[no-untyped-def]
    body = {"service": "api", "version": version, **extra}
    return api.client.post("/api/v1/releases", json=body, headers=api.auth(role))


def test_health_openapi_and_docs_are_served(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    spec = api.client.get("/openapi.json").json()
    for path in ("/api/v1/releases", "/api/v1/inventory", "/api/v1/tokens", "/api/v1/config/apply"):
        assert path in spec["paths"]
    assert "swagger" in api.client.get("/docs").text.lower()


def test_apply_reports_created_then_unchanged(api: Api) -> None:
    first = api.client.post(
        "/api/v1/config/apply", json={"text": CONFIG}, headers=api.auth("admin")
    ).json()
    again = api.client.post(
        "/api/v1/config/apply", json={"text": CONFIG}, headers=api.auth("admin")
    ).json()
    assert first["created"] == [
        "environment/staging",
        "environment/production",
        "lifecycle/default",
        "service/api",
    ]
    assert again["created"] == []
    assert again["unchanged"] == first["created"]


def test_a_bad_config_is_refused_with_lines_and_changes_nothing(api: Api) -> None:
    bad = CONFIG.replace("lifecycle: default", "lifecycle: defualt")
    response = api.client.post(
        "/api/v1/config/apply", json={"text": bad, "filename": "x.yaml"}, headers=api.auth("admin")
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_config"
    [issue] = error["details"]["issues"]
    assert issue["file"] == "x.yaml"
    assert issue["line"] == 13
    assert issue["field"] == "services[0].lifecycle"
    assert "defualt" in issue["message"]
    assert api.client.get("/api/v1/environments").json()["total"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"),
    [
        ("post", "/api/v1/releases", {"service": "api", "version": "9.0.0"}, "deployer"),
        ("post", "/api/v1/config/apply", {"text": CONFIG}, "admin"),
        ("post", "/api/v1/tokens", {"user": "x", "role": "viewer"}, "admin"),
        ("get", "/api/v1/tokens", None, "admin"),
        ("get", "/api/v1/audit", None, "release-manager"),
    ],
)
def test_each_call_needs_a_token_with_a_role_that_may_make_it(
    configured: Api, method: str, path: str, body: dict[str, str] | None, allowed: str
) -> None:
    client = configured.client
    kwargs = {"json": body} if body is not None else {}
    anonymous = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert anonymous.headers["www-authenticate"] == "Bearer"
    roles = ["viewer", "deployer", "release-manager", "admin"]
    for role in roles:
        response = client.request(method, path, headers=configured.auth(role), **kwargs)  # type: ignore[arg-type]
        if roles.index(role) < roles.index(allowed):
            assert response.status_code == 403, (role, response.text)
            assert f"needs role '{allowed}'" in response.json()["error"]["message"]
        else:
            assert response.status_code < 300, (role, response.text)


def test_a_bad_token_is_401_even_for_reads(configured: Api) -> None:
    response = configured.client.get(
        "/api/v1/services", headers={"Authorization": "Bearer relman_0000000000_nope"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("Unknown token")


def test_anonymous_reads_can_be_switched_off(database: Database) -> None:
    with TestClient(create_app(database, anonymous_read=False)) as client:
        response = client.get("/api/v1/inventory")
    assert response.status_code == 401
    assert "RELMAN_TOKEN" in response.json()["error"]["message"]


def test_a_release_is_created_once_and_repeating_it_is_harmless(configured: Api) -> None:
    artifacts = [{"name": "api.tar.gz", "digest": DIGEST}]
    first = _release(configured, commit="abcdef1", artifacts=artifacts)
    again = _release(configured, commit="abcdef1", artifacts=artifacts)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["artifacts"] == artifacts
    assert first.json()["created_by"] == "deployer-user"
    shown = configured.client.get("/api/v1/releases/api/1.4.0").json()
    assert shown["commit"] == "abcdef1"


def test_a_release_with_other_content_is_409_saying_what_differs(configured: Api) -> None:
    _release(configured, commit="abcdef1")
    response = _release(configured, commit="1234567")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert "api 1.4.0 already exists and differs in commit" in error["message"]
    assert error["details"]["differs"]["commit"] == {
        "existing": "abcdef1",
        "requested": "1234567",
    }


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"version": "v1.4.0"}, "drop the leading 'v'"),
        ({"version": "1.4"}, "is not a semantic version"),
        ({"version": "1.4.0", "commit": "xyz"}, "Bad commit 'xyz'"),
        ({"version": "1.4.0", "artifacts": [{"name": "a", "digest": "md5"}]}, "Bad digest"),
        ({"version": "1.4.0", "colour": "red"}, "colour: Extra inputs are not permitted"),
        ({}, "version: Field required"),
    ],
)
def test_bad_release_input_is_422_naming_the_problem(
    configured: Api, body: dict[str, object], fragment: str
) -> None:
    response = configured.client.post(
        "/api/v1/releases", json={"service": "api", **body}, headers=configured.auth("deployer")
    )
    assert response.status_code == 422
    assert fragment in response.json()["error"]["message"]
    assert configured.client.get("/api/v1/releases").json()["total"] == 0


def test_unknown_things_are_404_in_the_error_envelope(configured: Api) -> None:
    for path, fragment in [
        ("/api/v1/services/nope", "Unknown service 'nope'"),
        ("/api/v1/environments/prod", "did you mean 'production'"),
        ("/api/v1/releases/api/1.0.0", "api has no release 1.0.0"),
        ("/api/v1/deployments/42", "No deployment 42"),
        ("/api/v1/nothing-here", "Not Found"),
    ]:
        response = configured.client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
        assert fragment in response.json()["error"]["message"]


def test_lists_are_paginated(configured: Api) -> None:
    for n in range(5):
        _release(configured, f"1.{n}.0")
    page = configured.client.get("/api/v1/releases?limit=2&offset=1").json()
    assert [r["version"] for r in page["items"]] == ["1.3.0", "1.2.0"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    too_big = configured.client.get("/api/v1/releases?limit=100000")
    assert too_big.status_code == 422
    assert "limit" in too_big.json()["error"]["message"]


def test_recorded_deployments_show_in_the_inventory_and_the_page(configured: Api) -> None:
    _release(configured)
    response = configured.client.post(
        "/api/v1/deployments",
        json={"service": "api", "version": "1.4.0", "environment": "staging", "state": "succeeded"},
        headers=configured.auth("deployer"),
    )
    assert response.status_code == 201
    inventory = configured.client.get("/api/v1/inventory").json()
    cell = inventory["services"][0]["cells"]["staging"]
    assert (cell["version"], cell["deployed_by"]) == ("1.4.0", "deployer-user")
    assert inventory["services"][0]["cells"]["production"]["version"] is None
    page = configured.client.get("/").text
    assert '<td data-environment="staging">' in page
    assert "1.4.0" in page
    assert "deployer-user" in page


def test_tokens_are_created_listed_and_revoked_through_the_api(configured: Api) -> None:
    admin = configured.auth("admin")
    made = configured.client.post(
        "/api/v1/tokens", json={"user": "ci", "role": "deployer"}, headers=admin
    ).json()
    assert made["token"].startswith(f"relman_{made['id']}_")
    listed = configured.client.get("/api/v1/tokens", headers=admin).json()
    assert made["id"] in [t["id"] for t in listed["items"]]
    assert all("token" not in t and "secret_hash" not in t for t in listed["items"])
    ci = {"Authorization": f"Bearer {made['token']}"}
    assert _release(configured, "2.0.0", role="viewer").status_code == 403
    assert (
        configured.client.post(
            "/api/v1/releases", json={"service": "api", "version": "2.0.0"}, headers=ci
        ).status_code
        == 201
    )
    revoked = configured.client.delete(f"/api/v1/tokens/{made['id']}", headers=admin).json()
    assert revoked["revoked_at"] is not None
    after = configured.client.post(
        "/api/v1/releases", json={"service": "api", "version": "2.0.1"}, headers=ci
    )
    assert after.status_code == 401
    assert "revoked" in after.json()["error"]["message"]


def test_every_change_is_in_the_audit_log_with_its_actor(configured: Api) -> None:
    _release(configured)
    events = configured.client.get(
        "/api/v1/audit", headers=configured.auth("release-manager")
    ).json()["items"]
    actions = [(e["action"], e["object"], e["actor"]) for e in events]
    assert ("release.create", "release/api/1.4.0", "deployer-user") in actions
    assert ("config.create", "service/api", "admin-user") in actions
    assert ("token.create", "token/" + configured.tokens["admin"].split("_")[1], "setup") in actions


def test_metrics_are_in_prometheus_text_format(configured: Api) -> None:
    _release(configured)
    configured.client.get("/api/v1/services")
    response = configured.client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "relman_releases 1.0" in text
    assert "relman_services 1.0" in text
    assert 'relman_deployments{state="succeeded"} 0.0' in text
    assert 'relman_http_requests_total{method="GET",route="/api/v1/services",status="200"}' in text


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("Token {token}", "is not 'Bearer'"),
        ("{token}", "is not 'Bearer'"),
        ("Bearer", "has no token after 'Bearer'"),
        ("Bearer   ", "has no token after 'Bearer'"),
    ],
)
def test_a_malformed_authorization_header_is_refused_without_echoing_it(
    configured: Api, header: str, problem: str
) -> None:
    token = configured.tokens["admin"]
    secret = token.split("_", 2)[2]
    for path in ("/api/v1/services", "/api/v1/tokens"):
        response = configured.client.get(
            path, headers={"Authorization": header.format(token=token)}
        )
        assert response.status_code == 401
        assert problem in response.json()["error"]["message"]
        assert secret not in response.text


def test_openapi_declares_the_bearer_scheme(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())


@pytest.mark.parametrize(
    ("method", "path", "body", "fragment"),
    [
        ("get", "/api/v1/deployments/99999999999999999999", None, "deployment_id"),
        ("get", "/api/v1/releases?offset=99999999999999999999", None, "offset"),
        ("post", "/api/v1/releases", {"service": "api", "version": "1." * 100 + "0"}, "version"),
        (
            "post",
            "/api/v1/tokens",
            {"user": "u", "role": "viewer", "description": "d" * 201},
            "description",
        ),
        ("post", "/api/v1/releases", {"service": "a" * 64, "version": "1.0.0"}, "service"),
    ],
)
def test_out_of_range_input_is_422_not_a_crash(
    configured: Api, method: str, path: str, body: dict[str, str] | None, fragment: str
) -> None:
    kwargs = {"json": body} if body is not None else {}
    response = configured.client.request(method, path, headers=configured.auth("admin"), **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 422, response.text
    assert fragment in response.json()["error"]["message"]


def test_a_store_failure_is_a_503_in_the_error_envelope(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = Database(f"sqlite:///{tmp_path}/no-schema.db")  # never upgraded: no tables
    with TestClient(create_app(broken, anonymous_read=True)) as client:
        response = client.get("/api/v1/services")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "store_unavailable"
    broken.dispose()


def test_an_unexpected_error_is_a_500_in_the_error_envelope(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import relman.api.routers.system as system

    def explode(_session: object) -> object:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(system, "build_inventory", explode)
    app = create_app(database, anonymous_read=True)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/inventory")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    assert "secret internals" not in response.text
