"""The plugin guide (docs/plugins.md) agrees with the hooks, and its examples run.

- Every hook of `rotation_domain.hookspecs` has a ``## `<signature>` `` section, the
  signature rendered from the hook specification as `signature_of` does, with a
  ``python`` example that uses the hook; no section names a hook that does not exist.
- Every ``python`` block runs: each is executed as a fresh module (the examples open
  their own in-memory programs). A block preceded by ``<!-- file: NAME -->`` is written
  to a file of that name instead, and the files are run by pytest in a subprocess.
- Every hook has a test in tests/unit/test_hooks.py named ``test_<hook>_...``.
- The table of actions and contexts matches what the commands pass to the hooks, and
  the shape of ``rotation plugins --json`` matches the command.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from adapters.cli import main as cli
from rotation_domain import hookspecs
from rotation_domain.hookspecs import PROJECT

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugins.md"
HOOK_TESTS = ROOT / "tests" / "unit" / "test_hooks.py"
COMMANDS = sorted((ROOT / "src" / "rotation_domain").glob("_commands_*.py"))
FILE_MARK = re.compile(r"^<!-- file: (?P<name>[\w.]+) -->$")


class _Text:
    """An annotation shown as its source text (``repr`` is what `inspect` prints)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _annotation(annotation: Any) -> Any:
    if annotation is inspect.Parameter.empty:
        return annotation
    if isinstance(annotation, str):  # `from __future__ import annotations`: the source text
        return _Text(annotation)
    return _Text(inspect.formatannotation(annotation))


def signature_of(function: Callable[..., Any]) -> str:
    """``name(arg: Type, ...) -> Return``, annotations as written in hookspecs.py."""
    signature = inspect.signature(function)
    shown = signature.replace(
        parameters=[
            parameter.replace(annotation=_annotation(parameter.annotation))
            for parameter in signature.parameters.values()
        ],
        return_annotation=_annotation(signature.return_annotation),
    )
    return f"{function.__name__}{shown}"


def hooks() -> dict[str, Callable[..., Any]]:
    """The hook specifications, by name."""
    return {
        name: value
        for name, value in vars(hookspecs).items()
        if callable(value) and getattr(value, f"{PROJECT}_spec", None) is not None
    }


class Block:
    """A fenced code block of the guide."""

    def __init__(
        self, section: str, line: int, language: str, file: str | None, indent: int
    ) -> None:
        self.section = section
        self.line = line
        self.language = language
        self.file = file
        self.indent = indent
        self.lines: list[str] = []

    @property
    def code(self) -> str:
        return "\n".join(self.lines) + "\n"

    @property
    def id(self) -> str:
        return f"line {self.line} ({self.section[:40]})"


def sections_and_blocks() -> tuple[dict[str, list[Block]], list[Block]]:
    """The ``## `` headings with the blocks under each, and every block in order."""
    sections: dict[str, list[Block]] = {}
    blocks: list[Block] = []
    heading = ""
    block: Block | None = None
    file: str | None = None
    for number, line in enumerate(GUIDE.read_text(encoding="utf-8").splitlines(), start=1):
        fence = line.strip()
        if block is not None:
            if fence == "```":
                block = None
            else:
                block.lines.append(line[block.indent :])
            continue
        if fence.startswith("```"):
            block = Block(heading, number, fence[3:].strip(), file, line.index("```"))
            blocks.append(block)
            sections.setdefault(heading, []).append(block)
            file = None
            continue
        mark = FILE_MARK.match(fence)
        if mark:
            file = mark["name"]
        elif line.startswith("## "):
            heading = line.removeprefix("## ").strip()
            assert heading not in sections, f"docs/plugins.md has two sections '## {heading}'"
            sections[heading] = []
    assert block is None, "docs/plugins.md ends inside a code block"
    return sections, blocks


SECTIONS, BLOCKS = sections_and_blocks()
RUN = [block for block in BLOCKS if block.language == "python" and block.file is None]
FILES = [block for block in BLOCKS if block.file is not None]


def test_signatures_are_rendered_as_in_hookspecs() -> None:
    assert signature_of(hookspecs.rotation_views) == (
        "rotation_views(settings: Mapping[str, str]) -> Sequence[View] | None"
    )

    def plain(a: int, b: str = "x") -> None: ...

    assert signature_of(plain) == "plain(a: int, b: str = 'x') -> None"


def test_the_guide_has_examples_to_run() -> None:
    assert len(RUN) >= len(hooks()) + 3
    assert {block.file for block in FILES} >= {"conftest.py"}


@pytest.mark.parametrize("hook", sorted(hooks()))
def test_every_hook_has_a_section_headed_by_its_signature_with_an_example(hook: str) -> None:
    heading = f"`{signature_of(hooks()[hook])}`"
    assert heading in SECTIONS, (
        f"docs/plugins.md has no section '## {heading}' "
        f"(sections: {[s for s in SECTIONS if hook in s]})"
    )
    examples = [block for block in SECTIONS[heading] if block.language == "python"]
    assert examples, f"the {hook} section has no python example"
    assert any(hook in block.code for block in examples), f"no {hook} example uses {hook}"


def test_no_section_names_a_hook_that_does_not_exist() -> None:
    documented = {
        heading.strip("`").split("(", 1)[0]
        for heading in SECTIONS
        if re.match(rf"^`{PROJECT.split('_')[0]}_\w+\(", heading)
    }
    assert sorted(documented - set(hooks())) == []


@pytest.mark.parametrize("hook", sorted(hooks()))
def test_every_hook_has_a_test_named_after_it(hook: str) -> None:
    tree = ast.parse(HOOK_TESTS.read_text(encoding="utf-8"))
    names = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]
    assert any(name.startswith(f"test_{hook}_") for name in names), (
        f"tests/unit/test_hooks.py has no test named test_{hook}_..."
    )


@pytest.fixture
def fresh_module(request: pytest.FixtureRequest) -> Iterator[types.ModuleType]:
    """An empty module in ``sys.modules`` (classes defined in it can find their module)."""
    name = f"docs_plugins_example_{abs(hash(request.node.nodeid))}"
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        yield module
    finally:
        del sys.modules[name]


@pytest.mark.parametrize("block", RUN, ids=lambda block: block.id)
def test_every_python_example_runs(
    block: Block, fresh_module: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROTATION_PLUGINS", raising=False)
    monkeypatch.delenv("ROTATION_DISABLE_PLUGINS", raising=False)
    code = compile(block.code, f"{GUIDE}:{block.line}", "exec")
    exec(code, fresh_module.__dict__)


def test_the_testing_example_passes_under_pytest(tmp_path: Path) -> None:
    names = [block.file for block in FILES]
    assert len(names) == len(set(names)), f"two blocks are written to the same file: {names}"
    for block in FILES:
        (tmp_path / str(block.file)).write_text(block.code, encoding="utf-8")
    expected = sum(
        len(re.findall(r"^def test_", block.code, re.MULTILINE))
        for block in FILES
        if str(block.file).startswith("test_")
    )
    assert expected > 0
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in ("ROTATION_PLUGINS", "ROTATION_DISABLE_PLUGINS", "PYTEST_ADDOPTS")
    }

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "."],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{expected} passed" in done.stdout


def _context_table() -> dict[str, tuple[str, ...]]:
    """The action -> context keys table of the rotation_validate_command section."""
    heading = f"`{signature_of(hookspecs.rotation_validate_command)}`"
    text = GUIDE.read_text(encoding="utf-8").split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        found = re.match(r"^\| `(\w+)` \| (.*) \|$", line)
        if found:
            table[found[1]] = tuple(re.findall(r"`(\w+)`", found[2]))
    return table


def _checks_in_code() -> dict[str, tuple[str, ...]]:
    """What each command passes to ``self._check(unit, "<action>", key=...)``."""
    found: dict[str, tuple[str, ...]] = {}
    for path in COMMANDS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "_check"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                keys = tuple(str(keyword.arg) for keyword in node.keywords)
                found[str(node.args[1].value)] = keys
    return found


def test_the_table_of_actions_lists_every_command_with_its_context() -> None:
    in_code = _checks_in_code()
    assert len(in_code) >= 20
    assert _context_table() == in_code


def test_the_rotation_plugins_json_shape_is_the_commands() -> None:
    json_blocks = [block for block in SECTIONS["`rotation plugins`"] if block.language == "json"]
    assert len(json_blocks) == 1
    documented = json.loads(json_blocks[0].code)[0]

    result = CliRunner().invoke(cli, ["--store", "memory:", "plugins", "--json"])

    assert result.exit_code == 0, result.output
    actual = next(entry for entry in json.loads(result.output) if entry["name"] == "default_views")
    assert list(documented) == list(actual)
    assert list(documented["consumers"][0]) == list(actual["consumers"][0])
    assert documented["hooks"] == actual["hooks"]
