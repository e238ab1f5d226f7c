"""The documentation keeps up with the code: every hook documented with its exact signature,
the README opens with the two commands."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from scanguard import hookspecs

REPO = Path(__file__).resolve().parents[1]
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("scanguard_"))


def signature_text(name: str) -> str:
    """`scanguard_x(a: A, b: B) -> R`, as the plugin-author docs must show it."""
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def test_there_are_hooks_to_document():
    assert "scanguard_vendors" in HOOKS and "scanguard_rewrite_template" in HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_exact_signature(hook):
    doc = (REPO / "CONTRIBUTING.md").read_text()
    assert re.search(rf"^### {hook}$", doc, re.M), f"CONTRIBUTING.md has no section '### {hook}'"
    assert signature_text(hook) in doc, f"CONTRIBUTING.md does not show {signature_text(hook)}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_contract_docstring(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert "versionadded" in doc and len(doc.splitlines()) > 3


def test_readme_opens_with_the_two_commands():
    head = (REPO / "README.md").read_text().split("##")[0]
    assert "make demo" in head and "make test" in head
