"""The pure core (smart_collection/services) must never import Odoo."""

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parent.parent / "smart_collection" / "services"
MODULES = sorted(SERVICES.glob("*.py"))


def _is_odoo(name):
    return name == "odoo" or name.startswith("odoo.")


def odoo_imports(source, filename="<string>"):
    """Lines that import Odoo, directly or via a relative import leaving the package."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if _is_odoo(a.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and _is_odoo(node.module or ""):
                found.append((node.lineno, node.module))
            elif node.level > 1:  # from .. import models: the add-on package imports odoo
                found.append((node.lineno, "." * node.level + (node.module or "")))
        elif isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if name in {"__import__", "import_module"} and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    if _is_odoo(arg.value):
                        found.append((node.lineno, arg.value))
    return found


def test_services_modules_are_found():
    names = {m.name for m in MODULES}
    assert {
        "__init__.py",
        "references.py",
        "pay_tokens.py",
        "epc_qr.py",
        "phones.py",
        "amounts.py",
        "stripe_webhooks.py",
    } <= names


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_does_not_import_odoo(module):
    assert odoo_imports(module.read_text(encoding="utf-8"), str(module)) == []


@pytest.mark.parametrize(
    "source",
    [
        "import odoo",
        "import os, odoo.fields",
        "import odoo.addons.base as base",
        "from odoo import fields",
        "from odoo.tools import float_round",
        "def f():\n    from odoo.exceptions import UserError\n",
        "from .. import models",
        "from ..models import account_move",
        "__import__('odoo')",
        "import importlib\nimportlib.import_module('odoo.tools')",
    ],
)
def test_detector_catches_odoo_imports(source):
    assert odoo_imports(source)


@pytest.mark.parametrize(
    "source",
    [
        "import os",
        "from . import references",
        "from .references import make_rf",
        "import odoorpc",
        "from odoo_helpers import x",
        "odoo = 1",
        "x = 'import odoo'",
    ],
)
def test_detector_ignores_other_imports(source):
    assert odoo_imports(source) == []
