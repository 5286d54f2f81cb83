"""Release tags: a service's `tag_format` turned into tag names and back into versions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from relman.domain.versions import Version, parse_version
from relman.errors import InvalidInput

__all__ = ["Tag", "TagFormat"]


@dataclass(frozen=True, slots=True)
class Tag:
    name: str
    version: Version
    commit: str  # the commit the tag points at (annotated tags peeled)


@dataclass(frozen=True, slots=True)
class TagFormat:
    """`v{version}` or `{service}-v{version}` for one service.

    `prefix` is the literal text before {version}; git can list tags by it cheaply, and
    `version_of` keeps only the names that are exactly prefix + SemVer + suffix.
    """

    prefix: str
    suffix: str

    @classmethod
    def of(cls, tag_format: str, service: str | None) -> TagFormat:
        if "{service}" in tag_format and not service:
            raise InvalidInput(
                f"Tag format '{tag_format}' names {{service}}; pass --service NAME",
                details={"tag_format": tag_format},
            )
        text = tag_format.replace("{service}", service or "")
        prefix, found, suffix = text.partition("{version}")
        if not found:
            raise InvalidInput(
                f"Tag format '{tag_format}' lacks {{version}}", details={"tag_format": tag_format}
            )
        return cls(prefix, suffix)

    def name(self, version: Version) -> str:
        return f"{self.prefix}{version}{self.suffix}"

    def version_of(self, tag_name: str) -> Version | None:
        """The version a tag name carries, or None when the name is not this format's."""
        if not tag_name.startswith(self.prefix) or not tag_name.endswith(self.suffix):
            return None
        core = tag_name[len(self.prefix) : len(tag_name) - len(self.suffix)]
        if not core or not _LOOKS_LIKE_VERSION.match(core):
            return None
        try:
            return parse_version(core)
        except InvalidInput:
            return None


_LOOKS_LIKE_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+", re.ASCII)
