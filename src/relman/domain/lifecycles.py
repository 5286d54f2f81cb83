"""Lifecycles: the order in which a release may reach environments, as in Octopus Deploy.

A lifecycle is a list of phases; a release goes to a phase's environments only once the phase
before it is complete. `check_promotion` is the pure rule that decides; it reads the lifecycle,
the time of the release's earliest success in each environment, and the clock, and returns a
PromotionVerdict. The first rule that refuses decides:

    EnvironmentInLifecycle   the target environment belongs to a phase of the lifecycle
    RequirePreviousPhase     walking back from the target's phase, skipping optional phases that
                             are not complete, the first complete-or-required phase is complete
    RequireSoakTime          the target phase's soak has passed since that phase completed

A phase is complete when the release succeeded in `minimum` of its environments (all of them
when minimum is None); it completed at the time of the minimum-th earliest of those successes.
Every environment of the first phase is always allowed. Only time makes RequireSoakTime pass,
so an allowed verdict stays allowed as `now` moves on.

`lifecycle_from_dict` reads the stored form written by LifecycleSpec.to_dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from relman.domain.config import LifecycleSpec, PhaseSpec
from relman.domain.durations import format_duration, parse_duration
from relman.errors import InvalidInput

__all__ = [
    "ENVIRONMENT_IN_LIFECYCLE",
    "REQUIRE_PREVIOUS_PHASE",
    "REQUIRE_SOAK_TIME",
    "PromotionVerdict",
    "check_promotion",
    "lifecycle_from_dict",
]

ENVIRONMENT_IN_LIFECYCLE = "EnvironmentInLifecycle"
REQUIRE_PREVIOUS_PHASE = "RequirePreviousPhase"
REQUIRE_SOAK_TIME = "RequireSoakTime"

_SECOND = timedelta(seconds=1)
_T = TypeVar("_T")


@dataclass(frozen=True)
class PromotionVerdict:
    """Whether a release may go to an environment now, and if not, why and until when.

    `reason` completes a sentence like "api 1.4.0 cannot go to production: …"; it is empty when
    allowed. `details` is JSON-able and always names the rule ("" when allowed), the environment,
    the lifecycle and, for environments in it, the target phase and the earlier `phase` the rule
    looked at (None when no earlier phase counts).
    """

    allowed: bool
    rule: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    not_before: datetime | None = None


def check_promotion(
    lifecycle: LifecycleSpec,
    environment: str,
    successes: Mapping[str, datetime],
    now: datetime,
) -> PromotionVerdict:
    """Decide whether a release may be deployed to `environment` at `now`.

    `successes` maps an environment to the time of the release's earliest successful deployment
    there; times must be timezone-aware. Re-deploying where the release already went follows the
    same rules as going there the first time.
    """
    _require_aware(now, successes)
    index = _phase_index(lifecycle, environment)
    if index is None:
        return _not_in_lifecycle(lifecycle, environment)
    target = lifecycle.phases[index]
    base = {"environment": environment, "lifecycle": lifecycle.name, "target_phase": target.name}
    for earlier in reversed(lifecycle.phases[:index]):
        completed = _completion(earlier, successes)
        if completed is not None:
            return _check_soak(target, earlier, completed, now, base)
        if not earlier.optional:
            return _refuse_previous_phase(earlier, successes, base)
    return _allow(base, phase=None)


# --- the rules -------------------------------------------------------------------------------


def _not_in_lifecycle(lifecycle: LifecycleSpec, environment: str) -> PromotionVerdict:
    names = [env for phase in lifecycle.phases for env in phase.environments]
    reason = (
        f"lifecycle '{lifecycle.name}' has no environment '{environment}'; "
        f"choose one of: {', '.join(names)}"
    )
    details = {"environment": environment, "lifecycle": lifecycle.name, "environments": names}
    return _refuse(ENVIRONMENT_IN_LIFECYCLE, reason, details)


def _refuse_previous_phase(
    phase: PhaseSpec, successes: Mapping[str, datetime], base: dict[str, Any]
) -> PromotionVerdict:
    missing = tuple(env for env in phase.environments if env not in successes)
    needed = _needed(phase)
    have = len(phase.environments) - len(missing)
    if needed >= len(phase.environments):
        reason = f"it has not succeeded in {', '.join(missing)} (phase '{phase.name}')"
    else:
        listed = ", ".join(phase.environments)
        reason = f"it has succeeded in {have} of {listed} (phase '{phase.name}' needs {needed})"
    details = {
        **base,
        "phase": phase.name,
        "environments": list(phase.environments),
        "missing": list(missing),
        "needed": needed,
        "have": have,
    }
    return _refuse(REQUIRE_PREVIOUS_PHASE, reason, details, missing=missing)


def _check_soak(
    target: PhaseSpec,
    earlier: PhaseSpec,
    completed: datetime,
    now: datetime,
    base: dict[str, Any],
) -> PromotionVerdict:
    soak = target.soak
    if soak is None or now - completed >= soak:
        return _allow(base, phase=earlier.name, completed=completed)
    left = _ceil_seconds(soak - (now - completed))
    not_before = _add(completed, soak)
    reason = (
        f"phase '{target.name}' needs {format_duration(soak)} of soak after phase "
        f"'{earlier.name}' succeeded at {_clock(completed)}; "
        f"{format_duration(left)} left (from {_clock(not_before)})"
    )
    details = {
        **base,
        "phase": earlier.name,
        "soak": format_duration(soak),
        "completed_at": _iso(completed),
        "not_before": _iso(not_before),
        "remaining": format_duration(left),
    }
    return _refuse(REQUIRE_SOAK_TIME, reason, details, not_before=not_before)


def _allow(
    base: dict[str, Any], *, phase: str | None, completed: datetime | None = None
) -> PromotionVerdict:
    details = {
        "rule": "",
        **base,
        "phase": phase,
        "completed_at": None if completed is None else _iso(completed),
    }
    return PromotionVerdict(allowed=True, rule="", reason="", details=details)


def _refuse(
    rule: str,
    reason: str,
    details: dict[str, Any],
    *,
    missing: tuple[str, ...] = (),
    not_before: datetime | None = None,
) -> PromotionVerdict:
    return PromotionVerdict(
        allowed=False,
        rule=rule,
        reason=reason,
        details={"rule": rule, **details},
        missing=missing,
        not_before=not_before,
    )


# --- phases and times ------------------------------------------------------------------------


def _phase_index(lifecycle: LifecycleSpec, environment: str) -> int | None:
    for index, phase in enumerate(lifecycle.phases):
        if environment in phase.environments:
            return index
    return None


def _needed(phase: PhaseSpec) -> int:
    return len(phase.environments) if phase.minimum is None else phase.minimum


def _completion(phase: PhaseSpec, successes: Mapping[str, datetime]) -> datetime | None:
    """When the phase became complete: the needed-th earliest success in it, or None."""
    times = sorted(successes[env] for env in phase.environments if env in successes)
    needed = _needed(phase)
    return times[needed - 1] if 0 < needed <= len(times) else None


def _require_aware(now: datetime, successes: Mapping[str, datetime]) -> None:
    naive = [env for env, moment in successes.items() if moment.tzinfo is None]
    if now.tzinfo is None or naive:
        where = f"successes in {', '.join(naive)}" if naive else "now"
        raise ValueError(f"Naive datetime given for {where}; pass timezone-aware UTC datetimes")


def _add(moment: datetime, span: timedelta) -> datetime:
    try:
        return moment + span
    except OverflowError:  # a soak beyond year 9999: never, as far as a calendar can say
        return datetime.max.replace(tzinfo=UTC)


def _ceil_seconds(span: timedelta) -> timedelta:
    """Round up, so a wait of 0.2s reads "1s left", never "0s left"."""
    return -((-span) // _SECOND) * _SECOND


def _clock(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    shape = "%Y-%m-%d %H:%M:%S" if utc.second or utc.microsecond else "%Y-%m-%d %H:%M"
    return f"{utc.strftime(shape)} UTC"


def _iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, as the rest of the API writes times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- the stored form -------------------------------------------------------------------------


def lifecycle_from_dict(data: Mapping[str, Any]) -> LifecycleSpec:
    """Read what LifecycleSpec.to_dict wrote; raise InvalidInput naming the bad field.

    `optional`, `minimum` and `soak` may be left out and take their defaults.
    """
    name = _stored(data, "name", str, "lifecycle")
    where = f"lifecycle '{name}'"
    phases = _stored(data, "phases", list, where)
    if not phases:
        raise _bad_stored(where, "phases", phases, "a non-empty list of phases")
    return LifecycleSpec(
        name=name,
        phases=tuple(
            _phase_from_dict(raw, f"{where}, phase #{index + 1}")
            for index, raw in enumerate(phases)
        ),
    )


def _phase_from_dict(raw: object, where: str) -> PhaseSpec:
    if not isinstance(raw, Mapping):
        raise _bad_stored(where, "phase", raw, "a mapping")
    environments = _stored(raw, "environments", list, where)
    if not environments or not all(isinstance(env, str) for env in environments):
        raise _bad_stored(where, "environments", environments, "a non-empty list of names")
    return PhaseSpec(
        name=_stored(raw, "name", str, where),
        environments=tuple(environments),
        optional=_stored(raw, "optional", bool, where, default=False),
        minimum=_stored_minimum(raw, len(environments), where),
        soak=_stored_soak(raw, where),
    )


def _stored_minimum(raw: Mapping[str, Any], count: int, where: str) -> int | None:
    minimum = raw.get("minimum")
    if minimum is None:
        return None
    if isinstance(minimum, bool) or not isinstance(minimum, int) or not 1 <= minimum <= count:
        raise _bad_stored(where, "minimum", minimum, f"a whole number from 1 to {count}, or null")
    return minimum


def _stored_soak(raw: Mapping[str, Any], where: str) -> timedelta | None:
    soak = raw.get("soak")
    if soak is None:
        return None
    if not isinstance(soak, str):
        raise _bad_stored(where, "soak", soak, "a duration like 10m, or null")
    try:
        return parse_duration(soak)
    except InvalidInput:
        raise _bad_stored(where, "soak", soak, "a duration like 10m, or null") from None


def _stored(
    data: Mapping[str, Any], key: str, kind: type[_T], where: str, default: _T | None = None
) -> _T:
    value = data.get(key, default)
    if not isinstance(value, kind):
        raise _bad_stored(where, key, value, f"a {kind.__name__}")
    return value


def _bad_stored(where: str, key: str, value: object, expected: str) -> InvalidInput:
    return InvalidInput(
        f"Bad stored {where}: field '{key}' is {value!r}, expected {expected}; "
        "apply relman.yaml again to store it afresh",
        details={"where": where, "field": key, "value": repr(value), "expected": expected},
    )
