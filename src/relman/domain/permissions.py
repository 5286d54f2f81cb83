"""Who may do what in one environment: `permissions:` on an environment in relman.yaml.

    environments:
      - name: production
        tier: production
        permissions:
          deploy: [release-manager]         # promote to, roll back in, control deployments here
          approve: [release-manager, cto]   # approve or reject here (the approval rule as well)
          override: [admin]                 # freeze exceptions and locks here

Each list names roles (that role or a higher one) and users. Left out, an action needs what it
needs everywhere: deploy a deployer, override a release-manager, and approve whatever the
approval rule says. The token's role must also allow the action at all (docs/tokens-and-roles.md):
these lists narrow who may act in the environment; they never widen a role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relman.domain import checks
from relman.domain.checks import Issues, Path
from relman.domain.roles import Role
from relman.errors import Forbidden

__all__ = ["ACTIONS", "EnvironmentPermissions", "parse_permissions", "permissions_from_dict"]

ACTIONS = ("deploy", "approve", "override")
_ROLES = tuple(role.value for role in Role)
_VERBS = {
    "deploy": "deploy to or control deployments in",
    "approve": "approve deployments to",
    "override": "grant freeze exceptions or lock",
}


@dataclass(frozen=True)
class EnvironmentPermissions:
    environment: str
    allowed: Mapping[str, tuple[str, ...]]  # action → roles and users; missing: no narrowing

    def allows(self, action: str, user: str, role: Role) -> bool:
        names = self.allowed.get(action)
        if not names:
            return True
        if user.casefold() in (name.casefold() for name in names if name not in _ROLES):
            return True
        return any(role.rank >= Role(name).rank for name in names if name in _ROLES)

    def require(self, action: str, user: str, role: Role) -> None:
        """Forbidden, naming who may, unless `user` with `role` may do `action` here."""
        if self.allows(action, user, role):
            return
        who = ", ".join(self.allowed[action])
        raise Forbidden(
            f"{user} ({role.value}) may not {_VERBS[action]} {self.environment}: its "
            f"permissions.{action} allows {who}",
            details={
                "environment": self.environment,
                "action": action,
                "allowed": list(self.allowed[action]),
            },
        )

    def to_dict(self) -> dict[str, list[str]]:
        return {action: list(names) for action, names in self.allowed.items()}


def permissions_from_dict(
    environment: str, data: Mapping[str, Any] | None
) -> EnvironmentPermissions:
    """The server's copy (checked when it was applied)."""
    return EnvironmentPermissions(
        environment, {action: tuple(names) for action, names in (data or {}).items()}
    )


def parse_permissions(
    raw: object, path: Path, issues: Issues, environment: str
) -> EnvironmentPermissions:
    if raw is None:
        return EnvironmentPermissions(environment, {})
    expected = "a mapping like {deploy: [release-manager], approve: [...], override: [...]}"
    found = checks.fields(raw, path, issues, expected, ACTIONS)
    if found is None:
        return EnvironmentPermissions(environment, {})
    allowed: dict[str, tuple[str, ...]] = {}
    for action in ACTIONS:
        if action not in found:
            continue
        names = checks.string_list(found, action, path, issues)
        if not names:
            issues.add(
                (*path, action),
                "the list is empty, so nobody could do it",
                "roles (viewer, deployer, release-manager, admin) or user names; leave the "
                "field out to keep the default",
            )
            continue
        allowed[action] = names
    return EnvironmentPermissions(environment, allowed)
