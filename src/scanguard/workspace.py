"""Loading a workspace (scanguard.toml, profiles/*.yaml, templates/*.yaml) with every problem
reported at once, each naming the file, the line and the field."""

from __future__ import annotations

import os
import re
import tomllib
from contextlib import closing
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .compile import bulk_allocation
from .errors import Problem, ProblemList, WorkspaceError
from .loadcache import LoadCache, content_hash
from .model.base import describe
from .model.config import WorkspaceConfig
from .model.profile import DeviceProfile
from .model.template import ScanTemplate
from .suggest import hint, keys_at
from .yamlpool import FileRead, read_bytes, read_stream
from .yamlsrc import YAMLDocument, YAMLSourceError, line_for, parse

CONFIG_FILE = "scanguard.toml"
M = TypeVar("M", bound=BaseModel)
_MODELS: dict[str, type[BaseModel]] = {m.__name__: m for m in (WorkspaceConfig, DeviceProfile, ScanTemplate)}
"""The models of the workspace's files, by the title pydantic gives their errors."""


def shipped_templates_dir() -> Path:
    """The base templates shipped with scanguard (the project's top-level templates/)."""
    packaged = resources.files("scanguard") / "_templates"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "templates"


class Workspace(BaseModel):
    """A loaded, valid workspace."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    root: Path
    config: WorkspaceConfig
    profiles: tuple[DeviceProfile, ...] = ()
    templates: tuple[ScanTemplate, ...] = ()
    sources: dict[str, str] = {}
    warnings: tuple[Problem, ...] = ()

    def profile(self, pid: str) -> DeviceProfile | None:
        """The profile with that id, if any."""
        return next((p for p in self.profiles if p.id == pid), None)

    def template(self, name: str) -> ScanTemplate | None:
        """The base template with that name, if any."""
        return next((t for t in self.templates if t.name == name), None)

    def source_of(self, key: str) -> str:
        """The file a profile ("profile:ID") or template ("template:NAME") came from."""
        return self.sources.get(key, "")

    def state_path(self) -> Path:
        """Where the state database lives: scanguard.toml's workspace.state (relative to the
        workspace), else the platform's user state directory."""
        return state_path(self.root, self.config)

    def line_of(self, file: str, loc: tuple[Any, ...]) -> int | None:
        """The line of a key path (("constraints", "rate")) in one of the workspace's files, read
        again now: a loaded workspace keeps no lines, most files never need them."""
        return locate(self.root / file, loc)


def state_path(root: Path, config: WorkspaceConfig) -> Path:
    """The state database of a workspace: scanguard.toml's workspace.state (relative to the
    workspace), else the platform's user state directory. Its folder also holds the load cache."""
    if config.workspace.state:
        p = config.workspace.state
        return p if p.is_absolute() else root / p
    from platformdirs import user_state_path

    return user_state_path("scanguard") / "state.db"


def locate(path: Path, loc: tuple[Any, ...]) -> int | None:
    """The line of a key path in a YAML file (None when it cannot be read)."""
    try:
        return parse(path.read_text(encoding="utf-8")).line_for(loc)
    except (OSError, UnicodeDecodeError, YAMLSourceError):
        return None


def _rel(path: str | Path, root: Path) -> str:
    # pathlib's relative_to costs a second per 20,000 files; for a path under root this is the same
    text, base = str(path), str(root) + os.sep
    return text[len(base):] if text.startswith(base) else text


def _loc_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # pydantic adds union-branch and function-validator names to loc; they are not keys in the file
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))


_EXPECTED = {
    "bool_type": "expected true or false",
    "int_type": "expected a whole number (like 100)",
    "int_from_float": "expected a whole number (like 100)",
    "float_type": "expected a number (like 30 or 2.5)",
    "string_type": "expected text",
    "list_type": "expected a list (like [a, b])",
    "tuple_type": "expected a list (like [a, b])",
    "set_type": "expected a list (like [a, b])",
    "frozen_set_type": "expected a list (like [a, b])",
    "dict_type": "expected a mapping of keys to values",
    "model_type": "expected a mapping of keys to values",
}
_YAML11_WORDS = {"yes", "no", "on", "off", "y", "n"}


def _type_message(kind: str, value: Any) -> str:
    """What a value of the wrong type should look like, and how to write it."""
    msg = f"{_EXPECTED[kind]}, found {describe(value)}"
    if kind == "bool_type" and isinstance(value, str) and value.strip().lower() in _YAML11_WORDS:
        msg += " (YAML 1.2 reads yes, no, on and off as text): write true or false"
    elif kind == "string_type" and isinstance(value, (bool, int, float)):
        msg += ": put it in quotes to keep it as text"
    elif kind in ("int_type", "float_type") and isinstance(value, str):
        msg += ": write the number without quotes"
    return msg


def _pydantic_problems(err: ValidationError, file: str, lines: Any, problems: ProblemList,
                       prefix: tuple = ()) -> None:
    """One problem per pydantic error; `lines` maps a key path to its line (a dict, or anything
    with a `line_for`)."""
    where = lines.line_for if hasattr(lines, "line_for") else (lambda loc: line_for(lines, loc))
    seen = set()
    for e in err.errors(include_url=False):
        loc = prefix + _clean_loc(tuple(e["loc"]))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}" if loc else "unknown key"
            if loc and err.title in _MODELS:
                msg += hint(loc[-1], keys_at(_MODELS[err.title], loc[:-1]))
        elif e["type"] == "literal_error":  # a value outside a fixed set: say which value, and what it may be
            allowed = re.findall(r"'([^']*)'", str((e.get("ctx") or {}).get("expected", "")))
            msg = f"{e.get('input')!r} is not one of {', '.join(allowed)}{hint(e.get('input'), allowed)}"
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] in _EXPECTED:
            msg = _type_message(e["type"], e.get("input"))
        msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
        key = (loc, msg)
        if key in seen:
            continue
        seen.add(key)
        problems.add(file, where(loc), _loc_text(loc), msg)


def _read_ahead(paths: list[str], model: type[BaseModel], cache: LoadCache) -> Iterator[tuple[str, FileRead]]:
    """(path, the file as read: scanguard.yamlpool.FileRead) for every path, in order, each read,
    hashed and, when the cache does not hold its content, parsed: by worker processes, one per
    core, when thousands of files are not in the cache (scanguard.yamlpool.workers_for), while
    the caller validates each file as it comes."""
    with closing(read_stream(paths, cache.digests(model.__name__))) as reads:
        yield from zip(paths, reads)


def _read_now(path: str | Path, file: str, problems: ProblemList) -> FileRead | None:
    try:
        raw = read_bytes(os.fspath(path))
    except OSError as e:
        problems.add(file, None, "", f"cannot read: {e}")
        return None
    return raw, content_hash(raw), None


def _parse_now(raw: bytes, file: str, problems: ProblemList) -> YAMLDocument | None:
    try:
        return parse(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        problems.add(file, None, "", f"cannot read: not UTF-8 text ({e.reason} at byte {e.start})")
    except YAMLSourceError as e:
        problems.add(file, e.line, "", str(e))
    return None


def _load_yaml_model(path: str | Path, root: Path, model: type[M], problems: ProblemList,
                     cache: LoadCache | None = None, ahead: FileRead | None = None) -> M | None:
    """Read, parse and validate one YAML file (strictly: no value is coerced to another type),
    through the cache when the same content validated before. `ahead`: the file as read (and
    perhaps parsed) by `_read_ahead`; a file it could not read or parse is read again here, so
    the problem is reported as a one-process load reports it."""
    file = _rel(path, root)
    cache = cache or LoadCache.disabled()
    if ahead is None or ahead[1] is None:
        ahead = _read_now(path, file, problems)
        if ahead is None:
            return None
    raw, digest, parsed = ahead
    cached = cache.get(model.__name__, digest)
    if cached is not None:
        try:
            return model.model_validate_json(cached, strict=True)
        except ValidationError:
            pass  # not what this version accepts after all: read the file, whose errors carry lines
    doc = None
    if not isinstance(parsed, tuple):  # not parsed ahead, or it failed there: parse it here and say why
        if raw is None:
            return _load_yaml_model(path, root, model, problems, cache)
        doc = _parse_now(raw, file, problems)
        if doc is None:
            return None
        parsed = doc.data, doc.text_keys
    data, text_keys = parsed
    if not isinstance(data, dict):
        problems.add(file, 1, "", f"expected a mapping of keys to values, found {describe(data)}")
        return None
    try:
        obj = model.model_validate(data, strict=True)
    except ValidationError as e:
        if doc is None:  # parsed by a worker: the lines come from parsing the same bytes here
            again = _read_now(path, file, problems)
            if again is None:
                return None
            if again[1] != digest:  # edited meanwhile: load what the file holds now
                return _load_yaml_model(path, root, model, problems, cache, again)
            doc = _parse_now(again[0], file, problems)
            if doc is None:
                return None
        _pydantic_problems(e, file, doc, problems)
        return None
    if text_keys:
        cache.put(model.__name__, digest, data)
    return obj


def _toml_lines(text: str) -> dict[tuple, int]:
    """Key paths of a TOML file to their lines (tables, dotted keys and plain keys; enough to
    point at the right line for the flat files scanguard.toml is)."""
    lines: dict[tuple, int] = {}
    table: tuple = ()
    for i, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", s)
        if m:
            table = tuple(k.strip().strip('"') for k in m.group(1).split("."))
            for j in range(1, len(table) + 1):
                lines.setdefault(table[:j], i)
            continue
        m = re.match(r'^([A-Za-z0-9_."-]+)\s*=', s)
        if m:
            key = tuple(k.strip().strip('"') for k in m.group(1).split("."))
            lines[table + key] = i
            inline = re.findall(r"([A-Za-z0-9_-]+)\s*=", s[m.end():])
            for k in inline:
                lines.setdefault(table + key + (k,), i)
    return lines


def _load_config(path: Path, root: Path, problems: ProblemList) -> WorkspaceConfig | None:
    file = _rel(path, root)
    if not path.exists():
        problems.add(file, None, "", f"not found: a workspace needs {CONFIG_FILE} (see README, 'The workspace')")
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.add(file, None, "", f"cannot read: {e}")
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        problems.add(file, int(m.group(1)) if m else None, "", f"invalid TOML: {e}")
        return None
    try:
        return WorkspaceConfig.model_validate(data, strict=True)
    except ValidationError as e:
        _pydantic_problems(e, file, _toml_lines(text), problems)
        return None


def _yaml_files(folder: Path) -> list[str]:
    """The YAML files of a folder, sorted, as plain paths (pathlib's glob and sort cost a second
    at 20,000 files)."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.path for e in entries if e.name.endswith((".yaml", ".yml")) and e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []


def load_workspace(root: str | Path, *, today: date | None = None, strict: bool = True) -> Workspace:
    """Load and validate a workspace. Raises WorkspaceError with every problem when any file is
    invalid (with `strict`); warnings (an expired risk acceptance) are kept on the result."""
    ws, problems = check_workspace(root, today=today)
    if problems.errors and strict:
        raise WorkspaceError(problems.items)
    assert ws is not None
    return ws


def _add_profile(path: str, read: FileRead, root: Path, problems: ProblemList, cache: LoadCache, today: date,
                 profiles: list[DeviceProfile], sources: dict[str, str]) -> None:
    """Validate one profile file and add it to `profiles`, or its problems to `problems`."""
    prof = _load_yaml_model(path, root, DeviceProfile, problems, cache, read)
    if prof is None:
        return
    file = _rel(path, root)
    key = f"profile:{prof.id}"
    if key in sources:
        problems.add(file, locate(Path(path), ("id",)), "id",
                     f"duplicate profile id {prof.id!r}: already defined in {sources[key]}")
        return
    sources[key] = file
    profiles.append(prof)
    ra = prof.risk_acceptance
    if ra is not None and ra.expired(today):
        problems.add(file, None, "risk_acceptance.expires",
                     f"risk acceptance for {prof.id} expired on {ra.expires} (accepted by {ra.accepted_by}); "
                     "renew it or change the policy", severity="warning")


def _load_files(root: Path, problems: ProblemList, cache: LoadCache,
                today: date) -> tuple[list[DeviceProfile], dict[str, ScanTemplate], dict[str, str]]:
    """Every profile and template of the workspace (and the shipped templates it does not
    override), with the file each came from."""
    sources: dict[str, str] = {}
    profiles: list[DeviceProfile] = []
    with closing(_read_ahead(_yaml_files(root / "profiles"), DeviceProfile, cache)) as files:
        for path, read in files:
            _add_profile(path, read, root, problems, cache, today, profiles, sources)

    templates: dict[str, ScanTemplate] = {}
    for folder, shipped in ((root / "templates", False), (shipped_templates_dir(), True)):
        for path in _yaml_files(folder):
            tpl = _load_yaml_model(path, root, ScanTemplate, problems, cache)
            if tpl is None:
                continue
            key = f"template:{tpl.name}"
            if tpl.name in templates:
                if not shipped:
                    problems.add(_rel(path, root), locate(Path(path), ("name",)), "name",
                                 f"duplicate template name {tpl.name!r}: already defined in {sources[key]}")
                continue  # a workspace template overrides a shipped one of the same name
            if "@" in tpl.name:
                problems.add(_rel(path, root), locate(Path(path), ("name",)), "name",
                             "'@' is reserved for compiled group templates")
                continue
            templates[tpl.name] = tpl
            sources[key] = _rel(path, root)
    return profiles, templates, sources


def check_workspace(root: str | Path, *, today: date | None = None) -> tuple[Workspace | None, ProblemList]:
    """Load a workspace collecting every problem: (workspace or None when there are errors, problems)."""
    root = Path(root).resolve()
    today = today or date.today()
    problems = ProblemList()
    if not root.is_dir():
        problems.add(str(root), None, "", "is not a directory (pass --workspace DIR)")
        return None, problems
    config = _load_config(root / CONFIG_FILE, root, problems)
    with bulk_allocation():  # 20,000 profiles: four fifths of the load was GC passes
        cache = LoadCache.for_workspace(root, state_path(root, config).parent) if config else LoadCache.disabled()
        profiles, templates, sources = _load_files(root, problems, cache, today)
        cache.save()

    if config is not None:
        cfg_file = CONFIG_FILE
        text = (root / CONFIG_FILE).read_text(encoding="utf-8")
        lines = _toml_lines(text)
        wanted = config.workspace.templates
        for name in wanted or ():
            if name not in templates:
                problems.add(cfg_file, line_for(lines, ("workspace", "templates")), "workspace.templates",
                             f"unknown template {name!r}; known: {', '.join(sorted(templates))}")
        for sname, sc in config.scanners.items():
            for name in sc.templates or ():
                if name not in templates:
                    problems.add(cfg_file, line_for(lines, ("scanners", sname, "templates")),
                                 f"scanners.{sname}.templates",
                                 f"unknown template {name!r}; known: {', '.join(sorted(templates))}")
            if sc.url is None and sc.socket is None and sc.type not in ("nmap",):
                problems.add(cfg_file, line_for(lines, ("scanners", sname)), f"scanners.{sname}",
                             "needs a url (or a socket for GVM)")
            for attr in ("ca_bundle", "client_cert"):
                path = getattr(sc.tls, attr)
                if path is not None and not path.is_absolute():
                    path = root / path  # relative to the workspace, not to wherever scanguard runs
                    setattr(sc.tls, attr, path)
                if path is not None and not path.exists():
                    problems.add(cfg_file, line_for(lines, ("scanners", sname, "tls")), f"scanners.{sname}.tls.{attr}",
                                 f"{path} does not exist: connections to this scanner will fail until it does",
                                 severity="warning")
            if not sc.tls.verify:
                problems.add(cfg_file, line_for(lines, ("scanners", sname, "tls")), f"scanners.{sname}.tls.verify",
                             "TLS verification is off for this scanner", severity="warning")

    if problems.errors or config is None:
        return None, problems
    ws = Workspace(
        root=root, config=config, profiles=tuple(profiles), templates=tuple(templates.values()),
        sources=sources, warnings=tuple(p for p in problems.items if p.severity == "warning"),
    )
    return ws, problems


def check_vendors(ws: Workspace, known_vendors: set[str]) -> list[Problem]:
    """Problems for scanners whose type no loaded plugin provides."""
    text = (ws.root / CONFIG_FILE).read_text(encoding="utf-8")
    lines = _toml_lines(text)
    out = []
    for sname, sc in ws.config.scanners.items():
        if sc.type not in known_vendors:
            out.append(Problem(CONFIG_FILE, line_for(lines, ("scanners", sname, "type")), f"scanners.{sname}.type",
                               f"no loaded plugin provides vendor {sc.type!r}{hint(sc.type, known_vendors)} "
                               f"(loaded: {', '.join(sorted(known_vendors)) or 'none'}; `scanguard plugins` lists "
                               "what is installed)"))
    return out


def setting_line(ws: Workspace, scanner: str, setting: str | None = None) -> tuple[int | None, str]:
    """(line, key) of a scanner's setting in scanguard.toml: (12, "scanners.nessus-main.url");
    the line of the scanner's table when the key is not written."""
    try:
        lines = _toml_lines((ws.root / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        lines = {}
    key = ("scanners", scanner, *(setting.split(".") if setting else ()))
    return line_for(lines, key), ".".join(key)


def setting_location(ws: Workspace, scanner: str, setting: str | None = None) -> str:
    """Where a scanner's setting is written: "scanguard.toml:12 scanners.nessus-main.url"."""
    line, key = setting_line(ws, scanner, setting)
    return f"{CONFIG_FILE}{f':{line}' if line else ''} {key}"
