"""Roles and what each may do.

Roles are ordered: each includes everything the roles before it may do.

    viewer           read releases, deployments, config and inventory (not tokens, not audit)
    deployer         + create releases, request and record deployments
    release-manager  + approve, freeze, override gates, read the audit log
    admin            + tokens, config, everything
"""

from __future__ import annotations

from enum import StrEnum

from relman.errors import Forbidden, InvalidInput

__all__ = ["Permission", "Role", "parse_role", "require"]


class Role(StrEnum):
    VIEWER = "viewer"
    DEPLOYER = "deployer"
    RELEASE_MANAGER = "release-manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class Permission(StrEnum):
    READ = "read"
    CREATE_RELEASE = "create_release"
    DEPLOY = "deploy"
    APPROVE = "approve"
    FREEZE = "freeze"
    OVERRIDE = "override"
    MANAGE_TOKENS = "manage_tokens"
    APPLY_CONFIG = "apply_config"
    READ_AUDIT = "read_audit"


_MINIMUM_ROLE: dict[Permission, Role] = {
    Permission.READ: Role.VIEWER,
    Permission.CREATE_RELEASE: Role.DEPLOYER,
    Permission.DEPLOY: Role.DEPLOYER,
    Permission.APPROVE: Role.RELEASE_MANAGER,
    Permission.FREEZE: Role.RELEASE_MANAGER,
    Permission.OVERRIDE: Role.RELEASE_MANAGER,
    Permission.READ_AUDIT: Role.RELEASE_MANAGER,
    Permission.MANAGE_TOKENS: Role.ADMIN,
    Permission.APPLY_CONFIG: Role.ADMIN,
}


def minimum_role(permission: Permission) -> Role:
    return _MINIMUM_ROLE[permission]


def allows(role: Role, permission: Permission) -> bool:
    return role.rank >= _MINIMUM_ROLE[permission].rank


def require(role: Role, permission: Permission) -> None:
    """Raise Forbidden unless `role` grants `permission`."""
    if not allows(role, permission):
        needed = _MINIMUM_ROLE[permission].value
        raise Forbidden(
            f"Role '{role.value}' may not {permission.value.replace('_', ' ')}; "
            f"it needs role '{needed}' or higher",
            details={"role": role.value, "permission": permission.value, "required": needed},
        )


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InvalidInput(
            f"Unknown role '{text}'; roles: {names}", details={"value": text}
        ) from None
