"""A stateful fake Tenable Vulnerability Management (Tenable.io) serving real HTTP or HTTPS on
loopback, for tests and benchmarks.

Tenable VM answers the policy paths as Nessus does (the recordings of fixtures/nessus/policy-details.json
and policy-export.nessus are Tenable VM's), so the policies are the fake Nessus's (nessus.py):
`/policies`, `/editor/policy/...`, `/policies/{id}/export`, `/plugins/plugin/{id}`, `X-ApiKeys`.
What this fake adds is Tenable VM's own, in the recorded shapes of
../shared/fixtures/tenableio/exclusions_*.json:

- `GET /scans/timezones` -> `{"timezones": [{"name", "value"}]}` (the recorded list);
- `POST /exclusions` {name, members, description, schedule} -> the exclusion `{"schedule",
  "last_modification_date", "creation_date", "members", "description", "name", "id"}`;
  `GET /exclusions/{id}` the same; `PUT /exclusions/{id}` (the whole exclusion) answers it
  changed; `DELETE` answers 200 with an empty body; `GET /exclusions` -> `{"exclusions": [...]}`.
  A schedule is `{"enabled": true, "starttime", "endtime", "timezone", "rrules": {"freq",
  "interval", "byweekday"?, "bymonthday"?}}` as recorded, or `{"enabled": false}` (always
  active; not recorded: the shape follows pyTenable, which sends only that).

Bad exclusions are refused with 400 `{"error": ...}`: no name, no members, a member that is not
an address, range, CIDR or host name, a time that is not "YYYY-MM-DD HH:MM:SS", an end before its
start, a time zone the list does not have, an unknown frequency or weekday.

`exclusions` holds each exclusion as stored (tests read it directly); `edit_exclusion` is a
console user's hand edit. Faults as the fake Nessus injects them.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import datetime
from functools import lru_cache
from typing import Any

from .insightvm_sites import _address_ok
from .nessus import SHARED, FakeNessus

FIXTURES = SHARED / "tenableio"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
FREQS = ("ONETIME", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
WEEKDAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
SCHEDULE_ORDER = ("endtime", "enabled", "rrules", "timezone", "starttime")
"""The key order of a recorded schedule."""


@lru_cache(maxsize=1)
def recorded_timezones() -> list[dict[str, str]]:
    """The time zones the recorded `GET /scans/timezones` answered (a short list without ../shared)."""
    path = FIXTURES / "exclusions_create_weekly_exclusion.json"
    if path.is_file():
        for i in json.loads(path.read_text(encoding="utf-8"))["interactions"]:
            if i["path"] == "/scans/timezones":
                return list(i["response_body"]["timezones"])
    return [{"name": z, "value": z} for z in ("Etc/UTC", "UTC", "Europe/Berlin", "America/New_York")]  # pragma: no cover


class _Invalid(ValueError):
    pass


class FakeTenableIO(FakeNessus):
    """A fake Tenable VM on 127.0.0.1: the fake Nessus's policies, and exclusions.

    Attributes for tests, beyond FakeNessus's: `exclusions` (id -> the exclusion as stored)."""

    def __init__(self, tls: bool = True, **kw: Any) -> None:
        super().__init__(tls, **kw)
        self.exclusions: dict[int, dict[str, Any]] = {}
        self._next_exclusion = 5409  # the recorded ids are in the thousands

    # --- state helpers for tests --------------------------------------------------------------

    def edit_exclusion(self, exclusion_id: int | str, **fields: Any) -> None:
        """Change a stored exclusion as someone in the console would (no request is logged);
        `schedule` is merged into the stored schedule."""
        with self._lock:
            e = self.exclusions[int(exclusion_id)]
            schedule = fields.pop("schedule", None)
            if schedule is not None:
                e["schedule"] = {**e["schedule"], **schedule}
            e.update(fields)
            e["last_modification_date"] = int(time.time())

    def delete_exclusion_by_hand(self, exclusion_id: int | str) -> None:
        """Delete a stored exclusion as someone in the console would."""
        with self._lock:
            del self.exclusions[int(exclusion_id)]

    # --- the API ------------------------------------------------------------------------------

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = [x for x in path.split("/") if x]
        if parts == ["scans", "timezones"] and method == "GET":
            return 200, {"timezones": copy.deepcopy(recorded_timezones())}
        if parts[:1] == ["exclusions"]:
            with self._lock:
                if method in ("POST", "PUT") and body is not None:
                    self.bodies.append((method, path, copy.deepcopy(body)))
                return self._exclusions(method, parts[1:], body)
        return super()._route(method, path, body)

    def _shown(self, e: dict[str, Any]) -> dict[str, Any]:
        schedule = e["schedule"]
        shown = {k: copy.deepcopy(schedule[k]) for k in SCHEDULE_ORDER if k in schedule}
        return {"schedule": shown, "last_modification_date": e["last_modification_date"],
                "creation_date": e["creation_date"], "members": e["members"], "description": e["description"],
                "name": e["name"], "id": e["id"]}

    def _exclusions(self, method: str, rest: list[str], body: Any) -> tuple[int, Any]:
        if not rest:
            if method == "GET":
                return 200, {"exclusions": [self._shown(e) for e in self.exclusions.values()]}
            if method == "POST":
                try:
                    fields = self._valid(body)
                except _Invalid as e:
                    return 400, {"error": str(e)}
                now = int(time.time())
                eid = self._next_exclusion
                self._next_exclusion += 1
                self.exclusions[eid] = {**fields, "id": eid, "creation_date": now, "last_modification_date": now}
                return 200, self._shown(self.exclusions[eid])
            return 405, {"error": "Method not allowed"}
        if len(rest) != 1 or not rest[0].isdigit() or int(rest[0]) not in self.exclusions:
            return 404, {"error": "Exclusion not found"}
        eid = int(rest[0])
        if method == "GET":
            return 200, self._shown(self.exclusions[eid])
        if method == "PUT":
            try:
                fields = self._valid(body)
            except _Invalid as e:
                return 400, {"error": str(e)}
            self.exclusions[eid].update(fields, last_modification_date=int(time.time()))
            return 200, self._shown(self.exclusions[eid])
        if method == "DELETE":
            del self.exclusions[eid]
            return 200, None
        return 405, {"error": "Method not allowed"}

    def _valid(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Invalid("Invalid exclusion")
        name = str(body.get("name") or "").strip()
        if not name:
            raise _Invalid("name is required")
        members = str(body.get("members") or "")
        items = [m.strip() for m in members.split(",") if m.strip()]
        if not items or not all(_address_ok(m) for m in items):
            raise _Invalid(f"Invalid members: {members!r}")
        schedule = body.get("schedule")
        if not isinstance(schedule, dict) or not isinstance(schedule.get("enabled"), bool):
            raise _Invalid("schedule.enabled is required")
        stored: dict[str, Any] = {"enabled": schedule["enabled"]}
        if schedule["enabled"]:
            try:
                start = datetime.strptime(str(schedule.get("starttime")), TIME_FORMAT)
                end = datetime.strptime(str(schedule.get("endtime")), TIME_FORMAT)
            except ValueError:
                raise _Invalid("starttime and endtime must be YYYY-MM-DD HH:MM:SS") from None
            if end <= start:
                raise _Invalid("endtime must be after starttime")
            tz = str(schedule.get("timezone") or "")
            if tz not in {t["value"] for t in recorded_timezones()}:
                raise _Invalid(f"Invalid timezone: {tz!r}")
            rrules = schedule.get("rrules")
            if not isinstance(rrules, dict) or rrules.get("freq") not in FREQS:
                raise _Invalid("rrules.freq must be one of " + ", ".join(FREQS))
            if not isinstance(rrules.get("interval", 1), int) or rrules.get("interval", 1) < 1:
                raise _Invalid("rrules.interval must be a positive integer")
            days = [d for d in str(rrules.get("byweekday") or "").split(",") if d]
            if any(d not in WEEKDAYS for d in days):
                raise _Invalid(f"Invalid byweekday: {rrules.get('byweekday')!r}")
            stored.update(starttime=start.strftime(TIME_FORMAT), endtime=end.strftime(TIME_FORMAT), timezone=tz,
                          rrules=copy.deepcopy(rrules))
        return {"name": name, "members": members, "description": body.get("description"), "schedule": stored}
