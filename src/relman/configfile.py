"""Reading relman.yaml: YAML text in, a validated ConfigDocument out.

The edge adapter for config files, and the one module that reads them with PyYAML. It composes
the YAML node graph with SafeLoader (the graph keeps the position of every key and item), reports
what YAML itself lets slip (a key given twice in one mapping), hands the plain data to
`relman.domain.config.parse_config`, and gives every issue its file and line: the line of the
exact field when the file has it, else the line of the deepest enclosing field that exists (a
missing required field points at the mapping it is missing from).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from relman.domain.config import ConfigDocument, parse_config
from relman.errors import ConfigError, ConfigIssue, InvalidInput

__all__ = ["load_config", "load_config_file"]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_EMPTY = "the file is empty; expected a mapping with version: 1"


def load_config_file(path: str | os.PathLike[str]) -> ConfigDocument:
    """Read and validate a config file; raise InvalidInput if it can't be read."""
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput(f"Config file '{name}' not found", details={"path": name}) from None
    except UnicodeDecodeError:
        message = f"Config file '{name}' is not UTF-8 text"
        raise InvalidInput(message, details={"path": name}) from None
    except OSError as exc:
        message = f"Can't read config file '{name}': {exc.strerror or exc}"
        raise InvalidInput(message, details={"path": name}) from None
    return load_config(text, filename=name)


def load_config(text: str, filename: str = "relman.yaml") -> ConfigDocument:
    """Validate config text; raise ConfigError with every issue located by file and line."""
    try:
        loader = yaml.SafeLoader(text)  # checks every character at once
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_issue(exc, text, filename)]) from None
    try:
        return _load(loader, text, filename)
    except RecursionError:  # PyYAML composes and constructs recursively
        issue = ConfigIssue(
            path=(),
            message="the file nests lists or mappings too deeply to read",
            expected="a relman.yaml of a few levels",
            file=filename,
            line=1,
        )
        raise ConfigError([issue]) from None
    finally:
        loader.dispose()


def _load(loader: yaml.SafeLoader, text: str, filename: str) -> ConfigDocument:
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_issue(exc, text, filename)]) from None
    if root is None:
        raise _empty(filename)
    issues = _duplicate_keys(root)
    try:
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:  # e.g. a custom tag, which SafeLoader refuses
        raise _located([*issues, _yaml_issue(exc, text, filename)], root, filename) from None
    if data is None:  # nothing but "---" or "~"
        raise _empty(filename)
    try:
        document = parse_config(data)
    except ConfigError as error:
        raise _located([*issues, *error.issues], root, filename) from None
    if issues:
        raise _located(issues, root, filename)
    return document


def _empty(filename: str) -> ConfigError:
    return ConfigError([ConfigIssue(path=(), message=_EMPTY, file=filename, line=1)])


def _yaml_issue(exc: yaml.YAMLError, text: str, filename: str) -> ConfigIssue:
    """One issue for text that is not valid YAML, with the parser's own words."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        message = _yaml_words(exc.problem, exc.context)
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"unacceptable character #x{code:04x}: {exc.reason}"
    else:
        line, message = None, str(exc)
    return ConfigIssue(path=(), message=message, expected="valid YAML", file=filename, line=line)


def _yaml_words(problem: str | None, context: str | None) -> str:
    if problem and context and problem.startswith("but "):
        return f"{context}, {problem}"  # "expected a single document…, but found another…"
    return problem or context or "not valid YAML"


# --- duplicate keys --------------------------------------------------------------------------


def _duplicate_keys(root: Node) -> list[ConfigIssue]:
    """Keys given twice in one mapping: YAML keeps the last silently, relman refuses."""
    issues: list[ConfigIssue] = []
    visited: set[int] = set()
    pending: list[tuple[tuple[str | int, ...], Node]] = [((), root)]
    while pending:
        path, node = pending.pop()
        if id(node) in visited:  # an alias: its node was walked already
            continue
        visited.add(id(node))
        if isinstance(node, MappingNode):
            issues.extend(_duplicates_in(node, path))
        pending.extend(_children(node, path))
    return issues


def _duplicates_in(node: MappingNode, path: tuple[str | int, ...]) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    first_line: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
            continue
        key, line = str(key_node.value), key_node.start_mark.line + 1
        if key not in first_line:
            first_line[key] = line
            continue
        message = f"duplicate field '{key}' (first at line {first_line[key]}); give it once"
        issues.append(
            ConfigIssue(
                path=(*path, key),
                message=message,
                expected="each field once per mapping",
                line=line,
            )
        )
    return issues


def _children(node: Node, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], Node]]:
    if isinstance(node, MappingNode):
        return [((*path, _key_text(key)), value) for key, value in node.value]
    if isinstance(node, SequenceNode):
        return [((*path, index), item) for index, item in enumerate(node.value)]
    return []


def _key_text(key_node: Node) -> str:
    return str(key_node.value) if isinstance(key_node, ScalarNode) else "?"


# --- lines -----------------------------------------------------------------------------------


def _located(issues: list[ConfigIssue], root: Node, filename: str) -> ConfigError:
    """A ConfigError whose issues carry the file and a line, in the order of the file."""
    located = [
        replace(issue, file=filename, line=issue.line or _line_of(root, issue.path))
        for issue in issues
    ]
    return ConfigError(sorted(located, key=lambda issue: issue.line or 0))


def _line_of(root: Node, path: tuple[str | int, ...]) -> int:
    """The line of the field at `path`, or of its deepest ancestor present in the file."""
    node, line = root, root.start_mark.line + 1
    for part in path:
        step = _step(node, part)
        if step is None:
            break
        node, line = step
    return line


def _step(node: Node, part: str | int) -> tuple[Node, int] | None:
    if isinstance(node, MappingNode) and isinstance(part, str):
        for key_node, value_node in reversed(node.value):  # the last one is the one YAML keeps
            if _key_text(key_node) == part:
                return value_node, key_node.start_mark.line + 1
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item, item.start_mark.line + 1
    return None
