"""What an NSE ``--script`` argument can select, read without trusting its spelling.

nmap splits the argument on commas into rules (their union); a rule is a boolean expression of
``and``, ``or``, ``not`` and parentheses over words, each word matching a script by one of its
categories, by its name (``*`` and ``?`` wildcards), or naming a file or directory of scripts;
``all`` matches every script.

The questions asked here are "can a script of category C run?", "can the script named S run?"
and "is every script that can run in category safe?". They are answered symbolically and
conservatively: a script's categories are unknown (any combination), so "safe and not dos" rules
out dos scripts, while "default" does not rule out anything. A word that names no category is a
name pattern; a path (or a word we cannot classify) matches any script.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Union

CATEGORIES = frozenset({
    "auth", "broadcast", "brute", "default", "discovery", "dos", "exploit", "external", "fuzzer",
    "intrusive", "malware", "safe", "version", "vuln",
})
"""NSE's script categories."""
BUDGET = 200_000
"""Evaluations allowed per question; a rule that needs more is not judged (fail closed)."""

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


@dataclass(frozen=True)
class Word:
    """A category, a name pattern, or a path."""

    text: str


@dataclass(frozen=True)
class Not:
    arg: "Node"


@dataclass(frozen=True)
class And:
    args: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    args: tuple["Node", ...]


Node = Union[Word, Not, And, Or]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [m.group(1) for m in _TOKEN.finditer(text)]
        if "".join(self.tokens) != re.sub(r"\s+", "", text):
            raise ValueError(f"cannot read the script rule {text!r}")
        self.tokens = [t for t in self.tokens if t != "+"]  # "+(...)" forces a selection: it still selects it
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise ValueError(f"the script rule {self.text!r} ends too early")
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None:
            raise ValueError(f"the script rule {self.text!r} has {self.peek()!r} where an operator belongs")
        return node

    def or_(self) -> Node:
        args = [self.and_()]
        while self.peek() == "or":
            self.take()
            args.append(self.and_())
        return args[0] if len(args) == 1 else Or(tuple(args))

    def and_(self) -> Node:
        args = [self.not_()]
        while self.peek() == "and":
            self.take()
            args.append(self.not_())
        return args[0] if len(args) == 1 else And(tuple(args))

    def not_(self) -> Node:
        if self.peek() == "not":
            self.take()
            return Not(self.not_())
        tok = self.take()
        if tok == "(":
            node = self.or_()
            if self.take() != ")":
                raise ValueError(f"unbalanced parentheses in the script rule {self.text!r}")
            return node
        if tok in (")", "and", "or"):
            raise ValueError(f"the script rule {self.text!r} has {tok!r} where a category or script belongs")
        return Word(tok.lstrip("+"))  # "+name" forces a script to run: it still selects it


def parse_rules(argument: str) -> list[Node]:
    """The rules of one ``--script`` argument (ValueError when nmap could not read them either)."""
    rules = [r.strip() for r in argument.split(",")]
    if not any(rules) or not all(rules):
        raise ValueError(f"the --script argument {argument!r} has an empty rule")
    return [_Parser(r).parse() for r in rules]


def _words(node: Node) -> set[str]:
    if isinstance(node, Word):
        return {node.text}
    if isinstance(node, Not):
        return _words(node.arg)
    return set().union(*(_words(a) for a in node.args))


def _is_path(word: str) -> bool:
    return "/" in word or "\\" in word or word.endswith(".nse")


def _eval(node: Node, value: dict[str, bool | None]) -> bool | None:
    """Three-valued: None when the assignment does not decide the node yet."""
    if isinstance(node, Word):
        return value.get(node.text)
    if isinstance(node, Not):
        v = _eval(node.arg, value)
        return None if v is None else not v
    seen_unknown = False
    decisive = isinstance(node, Or)  # or: any True decides; and: any False decides
    for a in node.args:
        v = _eval(a, value)
        if v is None:
            seen_unknown = True
        elif v is decisive:
            return decisive
    return None if seen_unknown else not decisive


def _satisfiable(node: Node, fixed: dict[str, bool | None], free: list[str], budget: list[int]) -> bool:
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("the --script rule is too complex to judge")
    v = _eval(node, fixed)
    if v is not None:
        return v
    if not free:
        return False
    word, rest = free[0], free[1:]
    for choice in (True, False):
        if _satisfiable(node, {**fixed, word: choice}, rest, budget):
            return True
    return False


class Selection:
    """The scripts a list of rules (their union) can select, asked symbolically."""

    def __init__(self, rules: list[Node]) -> None:
        self.rules = rules

    def _can(self, assign) -> bool:
        for r in self.rules:
            words = _words(r)
            fixed: dict[str, bool | None] = {"all": True} if "all" in words else {}
            free = []
            for w in sorted(words - {"all"}):
                v = assign(w)
                if v is None:
                    free.append(w)
                else:
                    fixed[w] = v
            if _satisfiable(r, fixed, free, [BUDGET]):
                return True
        return False

    def category_can_run(self, category: str) -> bool:
        """Can any script of this NSE category be selected?"""
        return self._can(lambda w: True if w == category else None)

    def script_can_run(self, name: str) -> bool:
        """Can the script with this name be selected? Its categories are unknown (any)."""
        def assign(w: str) -> bool | None:
            if w in CATEGORIES or _is_path(w):
                return None
            return fnmatch.fnmatchcase(name, w.removesuffix(".nse"))
        return self._can(assign)

    def only_safe(self) -> bool:
        """Is every script that can be selected in the safe category?"""
        return not self._can(lambda w: False if w == "safe" else None)

    def selects(self, name: str, categories: frozenset[str]) -> bool:
        """Does a rule select the script `name` (without ``.nse``) of these categories? Decided
        as nmap decides it for one entry of its script database: a word is true when it is
        ``all`` or ``true``, one of the script's categories (case-insensitively), or a pattern
        its name matches (``*`` the only wildcard, case-sensitive, as in nmap)."""
        cats = {c.lower() for c in categories}

        def word(w: str) -> bool:
            low = w.lower()
            if low in ("all", "true") or low in cats:
                return True
            if low == "false":
                return False
            pattern = re.escape(w.removesuffix(".nse")).replace(r"\*", ".*")
            return re.fullmatch(pattern, name) is not None

        def ev(node: Node) -> bool:
            if isinstance(node, Word):
                return word(node.text)
            if isinstance(node, Not):
                return not ev(node.arg)
            if isinstance(node, And):
                return all(ev(a) for a in node.args)
            return any(ev(a) for a in node.args)

        return any(ev(r) for r in self.rules)

    def names(self) -> set[str]:
        """The plain script names the rules mention (no wildcard, category or path)."""
        out: set[str] = set()
        for r in self.rules:
            out |= {w for w in _words(r) if w not in CATEGORIES and w != "all" and not _is_path(w)
                    and not any(ch in w for ch in "*?[")}
        return out
