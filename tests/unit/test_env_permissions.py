from __future__ import annotations

import pytest

from relman.configfile import load_config
from relman.domain.checks import Issues
from relman.domain.permissions import parse_permissions, permissions_from_dict
from relman.domain.roles import Role
from relman.errors import ConfigError, Forbidden


def test_roles_allow_their_rank_and_above_and_users_by_name() -> None:
    rules = permissions_from_dict("production", {"approve": ["release-manager", "CTO"]})
    assert rules.allows("approve", "rita", Role.RELEASE_MANAGER)
    assert rules.allows("approve", "root", Role.ADMIN)
    assert rules.allows("approve", "cto", Role.VIEWER)  # a user named, whatever the case
    assert not rules.allows("approve", "dave", Role.DEPLOYER)
    assert rules.allows("deploy", "dave", Role.DEPLOYER)  # not listed: not narrowed
    with pytest.raises(Forbidden, match="may not approve deployments to production"):
        rules.require("approve", "dave", Role.DEPLOYER)


def test_bad_permissions_are_refused_with_their_place() -> None:
    issues = Issues()
    parse_permissions(
        {"deploy": [], "deplyo": ["admin"]}, ("environments", 0, "permissions"), issues, "p"
    )
    found = {(i.field_name, i.message) for i in issues.found}
    assert (
        "environments[0].permissions.deploy",
        "the list is empty, so nobody could do it",
    ) in found
    assert any(
        field == "environments[0].permissions.deplyo" and "did you mean 'deploy'" in message
        for field, message in found
    )


def test_permissions_round_trip_through_the_config() -> None:
    doc = load_config(
        """
version: 1
environments:
  - name: production
    tier: production
    permissions: {deploy: [release-manager], override: [admin]}
lifecycles: [{name: d, phases: [{name: p, environments: [production]}]}]
services: []
"""
    )
    spec = doc.environments[0].to_dict()
    assert spec["permissions"] == {"deploy": ["release-manager"], "override": ["admin"]}
    with pytest.raises(ConfigError, match="permissions"):
        load_config(
            "version: 1\nenvironments: [{name: p, tier: production, permissions: [admin]}]\n"
        )
