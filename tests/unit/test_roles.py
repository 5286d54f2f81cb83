import pytest

from relman.domain.roles import Permission, Role, allows, minimum_role, parse_role, require
from relman.errors import Forbidden, InvalidInput

# Written from the module docstring of relman.domain.roles:
#   viewer           read everything but tokens
#   deployer         + create releases, request and record deployments
#   release-manager  + approve, freeze, override gates
#   admin            + tokens, config, everything
# The audit log is not tokens, so "read everything but tokens" lets a viewer read it.
LEAST_ROLE = {
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

ORDER = [Role.VIEWER, Role.DEPLOYER, Role.RELEASE_MANAGER, Role.ADMIN]

GRID = [
    (role, permission, ORDER.index(role) >= ORDER.index(LEAST_ROLE[permission]))
    for permission in Permission
    for role in Role
]


def test_the_table_covers_every_permission() -> None:
    assert set(LEAST_ROLE) == set(Permission)


def test_roles_are_ordered_viewer_deployer_release_manager_admin() -> None:
    assert list(Role) == ORDER
    assert [role.value for role in Role] == ["viewer", "deployer", "release-manager", "admin"]
    assert [role.rank for role in ORDER] == [0, 1, 2, 3]


@pytest.mark.parametrize(("role", "permission", "allowed"), GRID)
def test_each_role_allows_exactly_what_the_docstring_says(
    role: Role, permission: Permission, allowed: bool
) -> None:
    assert allows(role, permission) is allowed


@pytest.mark.parametrize(("role", "permission", "allowed"), GRID)
def test_require_raises_exactly_when_the_role_lacks_the_permission(
    role: Role, permission: Permission, allowed: bool
) -> None:
    if allowed:
        require(role, permission)
    else:
        with pytest.raises(Forbidden):
            require(role, permission)


@pytest.mark.parametrize("permission", list(Permission))
def test_the_minimum_role_is_the_least_role_in_the_table(permission: Permission) -> None:
    assert minimum_role(permission) is LEAST_ROLE[permission]


@pytest.mark.parametrize("permission", list(Permission))
def test_an_admin_may_do_everything(permission: Permission) -> None:
    require(Role.ADMIN, permission)


@pytest.mark.parametrize("role", list(Role))
def test_every_role_may_read(role: Role) -> None:
    require(role, Permission.READ)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEPLOYER, Role.RELEASE_MANAGER])
@pytest.mark.parametrize("permission", [Permission.MANAGE_TOKENS, Permission.APPLY_CONFIG])
def test_only_an_admin_may_touch_tokens_or_config(role: Role, permission: Permission) -> None:
    assert not allows(role, permission)


@pytest.mark.parametrize(
    ("higher", "lower"), [(ORDER[i], ORDER[j]) for i in range(4) for j in range(i)]
)
def test_a_higher_role_may_do_everything_a_lower_one_may(higher: Role, lower: Role) -> None:
    for permission in Permission:
        if allows(lower, permission):
            assert allows(higher, permission)


def test_a_refusal_names_the_role_the_permission_and_the_role_needed() -> None:
    with pytest.raises(Forbidden) as caught:
        require(Role.DEPLOYER, Permission.MANAGE_TOKENS)

    message = caught.value.message
    assert "'deployer'" in message
    assert "manage tokens" in message
    assert "'admin'" in message
    assert caught.value.details == {
        "role": "deployer",
        "permission": "manage_tokens",
        "required": "admin",
    }


@pytest.mark.parametrize(("role", "permission", "allowed"), [g for g in GRID if not g[2]])
def test_every_refusal_names_its_role_permission_and_needed_role(
    role: Role, permission: Permission, allowed: bool
) -> None:
    with pytest.raises(Forbidden) as caught:
        require(role, permission)

    message = caught.value.message
    needed = LEAST_ROLE[permission].value
    assert f"'{role.value}'" in message
    assert permission.value.replace("_", " ") in message
    assert f"'{needed}'" in message
    assert caught.value.details["required"] == needed


@pytest.mark.parametrize("role", list(Role))
def test_a_role_parses_from_its_name(role: Role) -> None:
    assert parse_role(role.value) is role


@pytest.mark.parametrize("text", ["", "root", "Admin", "release_manager", " viewer", "owner"])
def test_an_unknown_role_is_refused_listing_the_valid_ones(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_role(text)

    message = caught.value.message
    assert f"'{text}'" in message
    assert "viewer, deployer, release-manager, admin" in message
    assert caught.value.details == {"value": text}
