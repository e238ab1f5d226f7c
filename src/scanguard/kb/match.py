"""Which existing profile an advisory is about, with a score: CSAF documents for these devices carry
no CPEs, so the match is by vendor name, product (model) name and affected versions.

score = vendor (0.4) + product (0.6), times 1.0 when the profile's firmware is in an affected
range, 0.9 when that cannot be told, 0.4 when it is outside every affected range. The vendor must
match at least half (MIN_VENDOR) and the model at least MIN_PRODUCT: a shared family name alone
("SCALANCE", "MicroLogix") is not the same device ("SCALANCE W1750D" is no "SCALANCE X-200",
"MicroLogix 1400" no "MicroLogix 1100"). A profile that already lists the advisory scores 1.0.
Drafts attach to every profile scoring at least THRESHOLD; when none does, they propose a new
profile.
"""

from __future__ import annotations

import re
from typing import Iterable

from ..model.profile import DeviceProfile
from .model import Advisory, NewProfile, Product, Target
from .versions import affected, parse_range

THRESHOLD = 0.6
MIN_VENDOR = 0.5
MIN_PRODUCT = 0.6
_VENDOR_NOISE = frozenset({
    "inc", "llc", "ltd", "gmbh", "ag", "co", "corp", "corporation", "company", "the", "and", "group", "sa", "se",
    "bv", "plc", "limited", "kg", "oy", "ab", "spa", "srl", "electric", "electronics", "automation", "systems",
    "technologies", "technology", "healthcare", "medical", "industries", "international", "solutions", "of",
})
_PRODUCT_NOISE = frozenset({
    "and", "or", "the", "for", "with", "incl", "including", "family", "series", "variants", "version", "versions",
    "all", "products", "product", "devices", "device", "update", "with", "module", "modules", "a", "an", "of", "in",
})


def tokens(text: str, noise: frozenset[str] = frozenset()) -> list[str]:
    """Lower-case letter and digit runs of a name, without noise words."""
    return [t for t in re.findall(r"[a-z0-9]+", text.lower().replace("ä", "a").replace("ö", "o").replace("ü", "u"))
            if t not in noise]


def _same(a: str, b: str) -> bool:
    # "mx" names "mx800", "s7" names "s71500" only when the rest is a model number
    if a == b:
        return True
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return len(short) >= 2 and long_.startswith(short) and long_[len(short):].isdigit()


def _containment(mine: list[str], theirs: list[str]) -> float:
    if not mine or not theirs:
        return 0.0
    hit = [t for t in mine if any(_same(t, u) for u in theirs)]
    if not any(len(t) >= 3 or any(c.isdigit() for c in t) for t in hit):
        return 0.0  # sharing only "x" or "ge" is no match
    return max(len(hit) / len(mine), len(set(hit)) / len(set(theirs)))


def vendor_score(vendors: Iterable[str], profile_vendor: str) -> float:
    """How well the profile's vendor ("Johnson Controls (American Dynamics)", "WAGO / Siemens")
    names one of the advisory's vendors, 0..1."""
    parts = [p for p in re.split(r"[/,()&]| and ", profile_vendor) if p.strip()]
    best = 0.0
    for v in vendors:
        vt = tokens(v, _VENDOR_NOISE)
        for p in parts:
            best = max(best, _containment(tokens(p, _VENDOR_NOISE), vt))
    return best


def product_score(names: Iterable[str], model: str) -> float:
    """How well the profile's model names one of these product names, 0..1."""
    mt = tokens(model, _PRODUCT_NOISE)
    return max((_containment(mt, tokens(n, _PRODUCT_NOISE)) for n in names), default=0.0)


def score_profile(advisory: Advisory, products: tuple[Product, ...], profile: DeviceProfile) -> Target:
    """The match of one profile against an advisory's products, with the reason in words."""
    if advisory.id in {a.upper() for a in profile.advisories}:
        return Target(profile=profile.id, score=1.0, why=f"the profile lists {advisory.id}")
    vendors = [p.vendor for p in products if p.vendor] or list(advisory.vendors) or [advisory.title]
    vs = vendor_score(vendors, profile.vendor) if profile.vendor else 0.0
    if vs < MIN_VENDOR:
        return Target(profile=profile.id, score=round(0.4 * vs, 2), why=f"vendor {profile.vendor!r} is not {vendors[0]!r}")
    names = [p.name for p in products] + [advisory.title]
    ps = product_score(names, profile.model or profile.name)
    if ps < MIN_PRODUCT:
        return Target(profile=profile.id, score=round(0.4 * vs + 0.6 * ps, 2) * 0.5,
                      why=f"vendor {vs:.0%}, but model {profile.model!r} is not among the products ({ps:.0%})")
    versions = tuple(v for p in products for v in p.versions)
    hit = affected(profile.firmware, versions)
    factor = {True: 1.0, None: 0.9, False: 0.4}[hit]
    score = round(min(1.0, (0.4 * vs + 0.6 * ps) * factor), 2)
    why = f"vendor {vs:.0%}, model {ps:.0%}"
    if hit is True:
        why += f", firmware {profile.firmware} is affected"
    elif hit is False:
        why += f", firmware {profile.firmware} is outside the affected versions"
    return Target(profile=profile.id, score=score, why=why)


def match(advisory: Advisory, product_ids: tuple[str, ...], profiles: Iterable[DeviceProfile]) -> list[Target]:
    """The existing profiles this advisory's products match (score >= THRESHOLD), best first."""
    products = advisory.products_of(product_ids)
    scored = [score_profile(advisory, products, p) for p in profiles]
    return sorted((t for t in scored if t.score >= THRESHOLD), key=lambda t: (-t.score, t.name()))


def new_profile(advisory: Advisory, product_ids: tuple[str, ...], taken: set[str]) -> Target:
    """A new profile for the advisory's device when no existing profile matches."""
    products = advisory.products_of(product_ids)
    title = re.sub(r"\s*\((?:update [a-z]+)\)\s*$", "", advisory.title, flags=re.IGNORECASE)
    title = re.sub(r"^I[CS]S?M?A-\d{2}-\d{3}-\d{2}[A-Z]?_", "", title).strip() or advisory.id
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:48].strip("-") or advisory.id.lower()
    pid, n = base, 2
    while pid in taken:
        pid, n = f"{base}-{n}", n + 1
    vendor = next((p.vendor for p in products if p.vendor), advisory.vendors[0] if advisory.vendors else "")
    names = list(dict.fromkeys(p.name for p in products if p.name))
    model = ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")
    versions = list(dict.fromkeys(v for p in products for v in p.versions))
    firmware = None
    if len(versions) == 1:  # one affected range: the profile's firmware, in words ("< V4.3.8")
        r = parse_range(versions[0])
        firmware = None if r is not None and r.everything else (r.text() if r is not None else versions[0])
    return Target(new_profile=NewProfile(id=pid, name=title, vendor=vendor, model=model or title, firmware=firmware),
                  score=0.0, why="no existing profile matches: a new profile is proposed")
