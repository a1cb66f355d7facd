"""dialogs/ is the conversation alone: no Telegram, HTTP, SQL or service code may creep in."""

from __future__ import annotations

import ast

from tests.support.paths import REPO

DIALOGS = REPO / "dialogs"
FORBIDDEN = {
    "telegram",
    "httpx",
    "sqlalchemy",
    "sqlmodel",
    "aiosqlite",
    "asyncpg",
    "starlette",
    "bot",
}


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {name.split(".")[0] for name in names}


def test_no_module_in_dialogs_imports_the_outside_world() -> None:
    modules = sorted(DIALOGS.rglob("*.py"))
    assert len(modules) > 5
    found = {
        str(path.relative_to(DIALOGS)): sorted(imported(ast.parse(path.read_text())) & FORBIDDEN)
        for path in modules
    }
    assert {path: names for path, names in found.items() if names} == {}


def test_the_check_sees_every_form_of_import() -> None:
    source = "import httpx\nfrom bot.leyr import x\nimport sqlalchemy.orm as orm\nfrom . import y\n"
    assert imported(ast.parse(source)) == {"httpx", "bot", "sqlalchemy"}
