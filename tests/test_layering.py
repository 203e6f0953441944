"""Import boundaries: index never imports bot; only bot/slack imports Slack libraries."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_index_is_a_library_without_bot_or_slack() -> None:
    for path in (ROOT / "index").rglob("*.py"):
        assert not imports(path) & {"bot", "slack_bolt", "slack_sdk"}, path


def test_only_bot_slack_imports_slack() -> None:
    for path in (ROOT / "bot").rglob("*.py"):
        if "slack" in path.relative_to(ROOT / "bot").parts[:-1]:
            continue
        assert not imports(path) & {"slack_bolt", "slack_sdk"}, path
