"""Rendering release notes: plain data for JSON, and markdown through a Jinja2 template.

The default template is `templates/notes.md.j2`; `--template FILE` replaces it. Templates run in
Jinja2's sandbox with StrictUndefined, so a misspelt name is an error that names it rather than
an empty string in the notes. What a template sees is documented in docs/release-notes.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from relman.domain.commits import Change, Unconventional
from relman.domain.notes import NotesSettings, Section
from relman.errors import InvalidInput

__all__ = ["entry_data", "lint_data", "render_markdown", "sections_data"]


def entry_data(item: Change | Unconventional) -> dict[str, Any]:
    """One entry as the JSON output and the stored release carry it."""
    commit = item.commit
    if isinstance(item, Unconventional):
        return {
            "type": None,
            "scope": None,
            "description": commit.subject,
            "breaking": False,
            "breaking_notes": [],
            "hash": commit.hash,
            "refs": [],
            "author": commit.author,
        }
    return {
        "type": item.type,
        "scope": item.scope,
        "description": item.description,
        "breaking": item.breaking,
        "breaking_notes": list(item.breaking_notes),
        "hash": commit.hash,
        "refs": [ref.text for ref in item.references],
        "author": commit.author,
    }


def sections_data(sections: Iterable[Section]) -> list[dict[str, Any]]:
    return [
        {"title": section.title, "entries": [entry_data(item) for item in section.entries]}
        for section in sections
    ]


def lint_data(unconventional: Iterable[Unconventional]) -> list[dict[str, Any]]:
    return [
        {"hash": item.commit.hash, "subject": item.commit.subject, "reason": item.reason}
        for item in unconventional
    ]


def render_markdown(
    version: str | None,
    sections: list[dict[str, Any]],
    settings: NotesSettings,
    *,
    date: str | None = None,
    template: Path | None = None,
) -> str:
    """Markdown notes from `sections_data` output, with links from the settings' URLs."""
    import jinja2  # only the commands that render notes pay for importing it
    from jinja2.sandbox import SandboxedEnvironment

    environment = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    source, name = _template_source(template)
    context = {
        "version": version,
        "date": date,
        "sections": [
            {**section, "entries": [_linked(entry, settings) for entry in section["entries"]]}
            for section in sections
        ],
    }
    try:
        return environment.from_string(source).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise InvalidInput(
            f"Template {name}, line {exc.lineno}: {exc.message}",
            details={"template": name, "line": exc.lineno},
        ) from None
    except jinja2.TemplateError as exc:
        raise InvalidInput(
            f"Template {name} failed: {exc.message}; see docs/release-notes.md for the names "
            "a template can use",
            details={"template": name},
        ) from None


def _template_source(template: Path | None) -> tuple[str, str]:
    if template is None:
        text = resources.files("relman.services").joinpath("templates/notes.md.j2").read_text()
        return text, "notes.md.j2 (built in)"
    try:
        return template.read_text(encoding="utf-8"), str(template)
    except OSError as exc:
        raise InvalidInput(
            f"Cannot read template '{template}': {exc.strerror}",
            details={"template": str(template)},
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(
            f"Template '{template}' is not UTF-8 text", details={"template": str(template)}
        ) from None


def _linked(entry: dict[str, Any], settings: NotesSettings) -> dict[str, Any]:
    """The entry with URLs: references named in the description are linked where they stand,
    the others (from footers) are listed after it."""
    commit_hash = entry["hash"]
    commit_url = None
    if settings.commit_url and commit_hash:
        commit_url = settings.commit_url.replace("{hash}", commit_hash)
    description = entry["description"]
    links = []
    for text in entry["refs"]:
        url = settings.issue_url if text.startswith("#") else settings.ticket_url
        url = url.replace("{id}", text.lstrip("#")) if url else None
        where = re.compile(rf"(?<![\w&/#-]){re.escape(text)}(?![\w-])")
        inline = bool(where.search(description))
        if inline and url:
            description = where.sub(f"[{text}]({url})", description, count=1)
        links.append({"text": text, "url": url, "inline": inline})
    return {
        **entry,
        "short_hash": commit_hash[:7] if commit_hash else "",
        "commit_url": commit_url,
        "linked_description": description,
        "links": links,
    }
