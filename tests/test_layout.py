"""The layout's rules, read off the source with ast: only gateway/storage/ talks to Postgres, the core never
imports a carrier, modules and functions stay small, and the relay rules stay pure.

Each rule is a function from one module's source to its violations; the test_rule_* tests feed each one a
module that breaks it, so a rule that stopped seeing anything would fail there too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "gateway"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40
# Functions allowed over MAX_FUNCTION_LINES, as "path:qualified name" -> why it is not split. Keep it small: an
# entry that is no longer over the limit (or gone) fails test_the_allow_list_is_current.
LONG_FUNCTIONS: dict[str, str] = {}
# asyncpg's ways of running SQL. `execute` is Redis pipelines' too: a receiver named *pipe* is one of those.
SQL_CALLS = {"fetch", "fetchrow", "fetchval", "execute", "executemany", "copy_records_to_table", "copy_to_table",
             "copy_from_table", "copy_from_query", "cursor"}
IMPURE = {"aiohttp", "asyncpg", "redis"}  # what the relay rules never import: they do no I/O
RELAY_MAY_IMPORT = {"gateway.relay", "gateway.errors", "gateway.vocabulary"}


def modules(under: Path = GATEWAY) -> list[Path]:
    return sorted(under.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imported(tree: ast.AST, name: str, is_package: bool = False) -> set[str]:
    """Every module an import names, absolute; `from a import b` counts as a and a.b (b may be a module)."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names if alias.name != "*"}
    return found


def carrier_names() -> set[str]:
    return {path.stem for path in (GATEWAY / "carriers").glob("*.py") if path.stem not in ("__init__", "base")
            and not path.stem.startswith("_")}


# Where the core may name a carrier in code: the carrier a fresh install uses, as a default setting is.
NAMES_ALLOWED = {("gateway.config", "sandbox")}


def naming_violations(name: str, tree: ast.AST, carriers: set[str]) -> list[str]:
    """String constants in code outside gateway/carriers/ that name a carrier (docstrings are prose, not code)."""
    if name.startswith("gateway.carriers"):
        return []
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words = set(re.findall(r"[a-z0-9]+", node.value.lower()))
            found += [f"line {node.lineno}: {carrier}" for carrier in sorted(words & carriers)
                      if (name, carrier) not in NAMES_ALLOWED]
    return found


# --- The rules: each takes a module's name and tree, and returns what breaks it ---------------------------------

def storage_violations(name: str, tree: ast.AST) -> list[str]:
    """Outside gateway.storage: no QUERIES, no SQL run on a pool or connection."""
    if name == "gateway.storage" or name.startswith("gateway.storage."):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "QUERIES" or \
                isinstance(node, ast.Attribute) and node.attr == "QUERIES":
            found.append(f"line {node.lineno}: QUERIES")
        elif isinstance(node, ast.alias) and node.name == "QUERIES":
            found.append("imports QUERIES")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
            receiver = ast.unparse(node.func.value)
            if not (node.func.attr == "execute" and "pipe" in receiver.lower()):
                found.append(f"line {node.lineno}: {receiver}.{node.func.attr}(...)")
    return found


def carrier_violations(name: str, tree: ast.AST, is_package: bool = False) -> list[str]:
    """Outside gateway.carriers: no import of a carrier's module (any module under gateway/carriers/ but base.py),
    by statement or by name (importlib)."""
    if name == "gateway.carriers" or name.startswith("gateway.carriers."):
        return []
    named = {module for module in imported(tree, name, is_package)
             if module.startswith("gateway.carriers.") and module.split(".")[2] in carrier_modules()}
    named |= {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
              and node.value.startswith("gateway.carriers.")}
    return sorted(module for module in named if module.split(".")[2] != "base")


def carrier_modules() -> set[str]:
    """The modules and packages under gateway/carriers/ (a new carrier's too), by name."""
    return {path.stem for path in (GATEWAY / "carriers").glob("*.py") if path.stem != "__init__"} | {
        path.name for path in (GATEWAY / "carriers").iterdir() if (path / "__init__.py").exists()}


def long_functions(tree: ast.AST, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """Qualified name -> lines, for every function (methods and nested ones too) longer than limit."""
    found = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualified = f"{prefix}{child.name}"
                lines = child.end_lineno - child.lineno + 1
                if not isinstance(child, ast.ClassDef) and lines > limit:
                    found[qualified] = lines
                visit(child, qualified + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def impure_imports(name: str, tree: ast.AST, is_package: bool = False) -> list[str]:
    """In gateway.relay: no aiohttp, asyncpg or redis, and of the gateway only relay, errors and vocabulary."""
    if not (name == "gateway.relay" or name.startswith("gateway.relay.")):
        return []
    found = []
    for module in sorted(imported(tree, name, is_package)):
        top = module.split(".")[0]
        if top in IMPURE:
            found.append(module)
        elif top == "gateway" and not any(module == allowed or module.startswith(allowed + ".")
                                          for allowed in RELAY_MAY_IMPORT):
            found.append(module)
    return found


# --- The rules applied to the gateway ---------------------------------------------------------------------------

def _parsed(path: Path) -> tuple[str, ast.AST, bool]:
    return module_name(path), ast.parse(path.read_text(), str(path)), path.name == "__init__.py"


def test_only_storage_talks_to_postgres():
    found = {rel(path): v for path in modules() if (v := storage_violations(*_parsed(path)[:2]))}
    assert found == {}, "SQL belongs in a typed function of gateway/storage/<aggregate>.py"


def test_the_core_never_imports_a_carrier():
    found = {rel(path): v for path in modules() if (v := carrier_violations(*_parsed(path)))}
    assert found == {}, "the core knows carriers through gateway.carriers (base.py) and the registry only"


def test_nothing_outside_the_carriers_names_one():
    names = carrier_names()
    found = {rel(path): v for path in modules() if (v := naming_violations(*_parsed(path)[:2], names))}
    assert found == {}, "a carrier is named only in gateway/carriers/ (its module), never by the core"


def test_rule_naming_sees_a_carrier_named_by_the_core():
    tree = ast.parse('"""Twilio in prose is fine."""\nPATH = "/webhooks/twilio/sms"\n')
    assert naming_violations("gateway.messaging.x", tree, {"twilio"}) == ["line 2: twilio"]
    assert naming_violations("gateway.carriers.twilio", tree, {"twilio"}) == []


def test_no_module_is_over_400_lines():
    found = {rel(path): n for path in modules() if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert found == {}


def test_no_function_is_over_40_lines_but_the_allowed():
    found = {f"{rel(path)}:{qualified}": lines for path in modules()
             for qualified, lines in long_functions(ast.parse(path.read_text())).items()}
    assert {key: lines for key, lines in found.items() if key not in LONG_FUNCTIONS} == {}


def test_the_allow_list_is_current():
    for key, reason in LONG_FUNCTIONS.items():
        path, qualified = key.split(":")
        assert reason and qualified in long_functions(ast.parse((ROOT / path).read_text())), key


def test_the_relay_rules_are_pure():
    found = {rel(path): v for path in modules(GATEWAY / "relay") if (v := impure_imports(*_parsed(path)))}
    assert found == {}


# --- Each rule sees what breaks it -------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "from gateway.storage.db import QUERIES",
    "from gateway.storage import db\nasync def f(pool):\n    await pool.fetchval(db.QUERIES.find_message, 1)",
    "async def f(pool):\n    return await pool.fetch('SELECT 1')",
    "async def f(conn):\n    await conn.execute('DELETE FROM messages')",
    "async def f(self):\n    async with self.pool.acquire() as conn:\n        return await conn.fetchrow('SELECT 1')",
])
def test_rule_storage_sees_sql_outside_storage(source):
    tree = ast.parse(source)
    assert storage_violations("gateway.messaging.example", tree)
    assert storage_violations("gateway.storage.example", tree) == []


def test_rule_storage_lets_redis_pipelines_execute():
    tree = ast.parse("async def f(self, pipe):\n    await pipe.execute()\n    await self.pipeline.execute(build)")
    assert storage_violations("gateway.messaging.example", tree) == []


@pytest.mark.parametrize("source", [
    "from gateway.carriers import twilio",
    "from gateway.carriers.sandbox import SandboxCarrier",
    "import gateway.carriers.twilio",
    "from .carriers import sandbox",
    "import importlib\nimportlib.import_module('gateway.carriers.telnyx')",
])
def test_rule_carriers_sees_a_carrier_imported_by_the_core(source):
    assert carrier_violations("gateway.app", ast.parse(source))
    assert carrier_violations("gateway.carriers.example", ast.parse(source)) == []


def test_rule_carriers_lets_the_core_use_the_interface():
    source = "from gateway.carriers import Carrier, Carriers, OutboundSms\nfrom gateway.carriers.base import Failure"
    assert carrier_violations("gateway.messaging.sending", ast.parse(source)) == []


def test_rule_sizes_see_a_long_function_in_a_class():
    body = "\n".join(f"        x{n} = {n}" for n in range(MAX_FUNCTION_LINES))
    tree = ast.parse(f"class A:\n    def short(self):\n        pass\n\n    def long(self):\n{body}\n")
    assert long_functions(tree) == {"A.long": MAX_FUNCTION_LINES + 1}


@pytest.mark.parametrize("source", ["import aiohttp", "from redis.asyncio import Redis", "import asyncpg",
                                    "from gateway.storage import messages", "from ..ops.logs import clip"])
def test_rule_purity_sees_io_in_the_relay_rules(source):
    assert impure_imports("gateway.relay.rules", ast.parse(source))
    assert impure_imports("gateway.messaging.example", ast.parse(source)) == []
