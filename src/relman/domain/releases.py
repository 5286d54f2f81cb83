"""Release candidates: immutable snapshots of a service at a version."""

from __future__ import annotations

import re
from dataclasses import dataclass

from relman.domain.versions import Version, parse_version
from relman.errors import InvalidInput

__all__ = ["ReleaseContent", "parse_artifact", "release_differences"]

_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{16,}$")
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/@:-]{0,199}$")


@dataclass(frozen=True)
class ReleaseContent:
    """What a release is; two requests with equal content are the same release."""

    version: Version
    version_text: str
    commit: str | None
    notes: str | None
    artifacts: tuple[tuple[str, str], ...]

    @classmethod
    def build(
        cls,
        version: str,
        commit: str | None = None,
        notes: str | None = None,
        artifacts: list[tuple[str, str]] | None = None,
    ) -> ReleaseContent:
        parsed = parse_version(version)
        if commit is not None and not _COMMIT.fullmatch(commit):
            raise InvalidInput(
                f"Bad commit '{commit}'; expected a git commit hash of 7 to 64 lowercase hex "
                "digits",
                details={"field": "commit", "value": commit},
            )
        pairs = artifacts or []
        names = [name for name, _ in pairs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidInput(
                f"Artifact {', '.join(map(repr, dupes))} given more than once; name each once",
                details={"field": "artifacts", "duplicates": dupes},
            )
        for name, digest in pairs:
            _check_artifact(name, digest)
        return cls(
            version=parsed,
            version_text=str(parsed),
            commit=commit,
            notes=notes or None,
            artifacts=tuple(sorted(pairs)),
        )


def _check_artifact(name: str, digest: str) -> None:
    if not _ARTIFACT_NAME.fullmatch(name):
        raise InvalidInput(
            f"Bad artifact name '{name}'; use letters, digits and . _ / @ : -",
            details={"field": "artifacts", "value": name},
        )
    if not _DIGEST.fullmatch(digest):
        raise InvalidInput(
            f"Bad digest '{digest}' for artifact '{name}'; expected ALGORITHM:HEX, "
            "like sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            details={"field": "artifacts", "artifact": name, "value": digest},
        )


def parse_artifact(text: str) -> tuple[str, str]:
    """'NAME=DIGEST' → (name, digest), as the CLI takes it."""
    name, sep, digest = text.partition("=")
    if not sep or not name or not digest:
        raise InvalidInput(
            f"Bad artifact '{text}'; expected NAME=DIGEST, like app.tar.gz=sha256:9f86d0…",
            details={"field": "artifacts", "value": text},
        )
    _check_artifact(name, digest)
    return name, digest


def release_differences(
    existing: ReleaseContent, requested: ReleaseContent
) -> dict[str, dict[str, object]]:
    """Fields in which `requested` differs from `existing`, with both values."""
    out: dict[str, dict[str, object]] = {}
    pairs: dict[str, tuple[object, object]] = {
        "version": (existing.version_text, requested.version_text),
        "commit": (existing.commit, requested.commit),
        "notes": (existing.notes, requested.notes),
        "artifacts": (dict(existing.artifacts), dict(requested.artifacts)),
    }
    for name, (old, new) in pairs.items():
        if old != new:
            out[name] = {"existing": old, "requested": new}
    return out
