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

    # A template from a file runs in the sandbox; the built-in one is trusted, and faster so.
    kind = jinja2.Environment if template is None else SandboxedEnvironment
    environment = kind(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # the output is markdown, not HTML
    )
    source, name = _template_source(template)
    # The built-in template writes only each entry's `markdown`; a template of your own gets
    # every field (making them all is a third of the time over a long history).
    link = _item_only if template is None else _linked
    context = {
        "version": version,
        "date": date,
        "sections": [
            _Fields(section, entries=[link(entry, settings) for entry in section["entries"]])
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
    except jinja2.UndefinedError as exc:
        said = exc.message or ""
        missing = _NO_ATTRIBUTE.search(said)
        if missing is not None:
            said = f"there is no field '{missing.group(1)}'"
        raise InvalidInput(
            f"Template {name} failed: {said}; see docs/release-notes.md for the names and "
            "fields a template can use",
            details={"template": name},
        ) from None
    except jinja2.TemplateError as exc:
        raise InvalidInput(
            f"Template {name} failed: {(exc.message or '').rstrip('.')}; see "
            "docs/release-notes.md for the names and fields a template can use",
            details={"template": name},
        ) from None
    except Exception as exc:  # a template's own mistake, like {{ 1 / 0 }} or {{ version + 1 }}
        raise InvalidInput(
            f"Template {name} failed: {type(exc).__name__}: {exc}",
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


_NO_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'")

# A reference as it may stand in a description: #123 or KEY-123. Only those the entry's `refs`
# list (what the parser recognised, with the configured ticket keys) are linked.
_REFERENCE = re.compile(r"(?<![\w&/#-])(?:#[1-9][0-9]*|[A-Z][A-Z0-9_]*-[1-9][0-9]*)(?![\w-])")


def _linked(entry: dict[str, Any], settings: NotesSettings) -> dict[str, Any]:
    """The entry with URLs, and `markdown`, its list item as the built-in template writes it:
    references named in the description are linked where they stand, the others (from
    footers) are listed after the short hash, breaking notes are indented below."""
    short_hash, commit_url, description, links, item = _parts(entry, settings)
    return _Fields(
        entry,
        short_hash=short_hash,
        commit_url=commit_url,
        linked_description=description,
        links=links,
        markdown=item,
    )


class _Item:
    __slots__ = ("markdown",)

    def __init__(self, markdown: str) -> None:
        self.markdown = markdown


def _item_only(entry: dict[str, Any], settings: NotesSettings) -> _Item:
    return _Item(_parts(entry, settings)[4])


def _parts(
    entry: dict[str, Any], settings: NotesSettings
) -> tuple[str, str | None, str, list[_Fields], str]:
    """short hash, commit URL, linked description, links, and the markdown list item."""
    commit_hash = entry["hash"]
    short_hash = commit_hash[:7] if commit_hash else ""
    commit_url = None
    if settings.commit_url and commit_hash:
        commit_url = settings.commit_url.replace("{hash}", commit_hash)
    description = entry["description"]
    refs = entry["refs"]
    links = []
    if refs:
        urls = {text: _url_of(text, settings) for text in refs}
        inline: set[str] = set()

        def link(match: re.Match[str]) -> str:
            text = match.group(0)
            if text not in urls or text in inline:
                return text
            inline.add(text)
            url = urls[text]
            return f"[{text}]({url})" if url else text

        description = _REFERENCE.sub(link, description)
        links = [_Fields(text=t, url=urls[t], inline=t in inline) for t in refs]
    item = f"- **{entry['scope']}:** {description}" if entry["scope"] else f"- {description}"
    if short_hash:
        item += f" ([{short_hash}]({commit_url}))" if commit_url else f" ({short_hash})"
    for ref in links:
        if not ref["inline"]:
            item += f", [{ref['text']}]({ref['url']})" if ref["url"] else f", {ref['text']}"
    for note in entry["breaking_notes"]:
        item += "\n" + "\n".join(f"  {line}" if line else "" for line in note.split("\n"))
    return short_hash, commit_url, description, links, item


class _Fields(dict[str, Any]):
    """A dict whose keys a template reads as attributes too (`entry.scope`), without the
    exception Jinja2 takes on a plain dict before it tries the key."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _url_of(text: str, settings: NotesSettings) -> str | None:
    template = settings.issue_url if text.startswith("#") else settings.ticket_url
    return template.replace("{id}", text.lstrip("#")) if template else None
