"""YAML text → plain data that still knows where each value was written.

A spec error is only useful if it says *where*: ``kubetrust.yaml:14:9: ...``. PyYAML's
composed node tree keeps a start mark (line, column) on every node; :func:`compose` turns it
into plain data for validation and keeps the tree, so that a validation error's path
(``spec.targets[1].roleName``) can be located afterwards with :meth:`Source.locate`.

Two deliberate choices:

- **Every scalar stays text** (plain ``null``/``~``/empty become ``None``). YAML 1.1 would
  read ``account: 012345678901`` as the integer 12345678901 and lose the leading zero, and
  ``Version: 2012-10-17`` as a date; the validator converts text to integers where a field
  is numeric, and IAM takes condition values as strings anyway.
- **Duplicate keys are errors.** PyYAML keeps the last one silently, which can drop a whole
  target or a permission statement without a word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubetrust import errors

Path = tuple[str | int, ...]
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TOO_DEEP = (
    f"nested too deeply (mappings and lists more than {errors.MAX_NESTING} levels within each "
    "other, or an alias inside its own anchor)"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a spec file, at a position (1-based line and column)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class SpecError(errors.InputError):
    """A spec that cannot be used: every problem found, each with its file position.

    The CLI prints one ``file:line:col: message`` line per problem and exits 3."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (p.file, p.line, p.column)))
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass(slots=True)
class Source:
    """A composed YAML document: its data (text scalars) and its node tree."""

    file: str
    data: Any
    root: yaml.Node | None
    keys: dict[Path, yaml.Node] = field(default_factory=dict)
    """The key node of every mapping entry, by the path of its value."""

    def locate(self, path: Path, *, at_key: bool = False) -> tuple[int, int]:
        """The 1-based (line, column) of the deepest node ``path`` reaches.

        ``at_key`` points at the key of the last path element rather than its value (for
        "unknown key" errors). A path that leaves the tree (a missing key) stops at the
        deepest node that exists, which is the mapping that lacks the key.
        """
        if at_key and path in self.keys:
            return _mark(self.keys[path])
        node = self.root
        for element in path:
            child = _child(node, element)
            if child is None:
                break
            node = child
        return _mark(node) if node is not None else (1, 1)

    def problem(self, path: Path, message: str, *, at_key: bool = False) -> Problem:
        line, column = self.locate(path, at_key=at_key)
        return Problem(self.file, line, column, message)


def compose(text: str, file: str) -> Source:
    """Parse ``text`` (one YAML document); raise :class:`SpecError` if it is not YAML or
    repeats a key."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(part for part in (error.context, error.problem) if part)
        raise SpecError([Problem(file, line, column, f"not valid YAML: {what}")]) from None
    except yaml.YAMLError as error:
        raise SpecError([Problem(file, 1, 1, f"not valid YAML: {error}")]) from None
    except RecursionError:  # PyYAML's composer recurses per level
        raise SpecError(
            [Problem(file, 1, 1, f"not valid YAML: {errors.NESTED_TOO_DEEPLY}")]
        ) from None
    source = Source(file, None, root)
    problems: list[Problem] = []
    source.data = _plain(root, (), source, problems) if root is not None else None
    if problems:
        raise SpecError(problems)
    return source


def _plain(node: yaml.Node, path: Path, source: Source, problems: list[Problem]) -> Any:
    """Plain data of ``node``; a node deeper than :data:`kubetrust.errors.MAX_NESTING` is a
    problem at its position, which also ends an alias inside its own anchor (``&a [*a]``:
    the composed tree is a cycle) before it overflows this recursion."""
    if len(path) >= errors.MAX_NESTING and isinstance(node, yaml.CollectionNode):
        line, column = _mark(node)
        problems.append(Problem(source.file, line, column, _TOO_DEEP))
        return None
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        first: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line, column = _mark(key_node)
                problems.append(Problem(source.file, line, column, "keys must be plain text"))
                continue
            key = str(key_node.value)
            if key in first:
                line, column = _mark(key_node)
                earlier = _mark(first[key])[0]
                problems.append(
                    Problem(
                        source.file,
                        line,
                        column,
                        f"duplicate key `{key}` (first at line {earlier}); YAML would keep "
                        "only the last one",
                    )
                )
                continue
            first[key] = key_node
            source.keys[(*path, key)] = key_node
            result[key] = _plain(value_node, (*path, key), source, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, i), source, problems) for i, item in enumerate(node.value)]
    value = str(node.value)
    if isinstance(node, yaml.ScalarNode) and node.style is None and value in _NULLS:
        return None
    return value


def _child(node: yaml.Node | None, element: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(element, str):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == element:
                return value_node  # type: ignore[no-any-return]
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(element, int):
        items = node.value
        return items[element] if 0 <= element < len(items) else None
    return None


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1
