#!/usr/bin/env bash
# The tour on the example hospital workspace: validate, explain, render, and a check that no
# rendered nmap template would probe the payment terminal's port 7100.
set -euo pipefail
cd "$(dirname "$0")/.."
SG=.venv/bin/scanguard
PY=.venv/bin/python
WS=examples/hospital
OUT=out/demo
rm -rf "$OUT" && mkdir -p "$OUT"

echo "== scanguard validate: the workspace is checked, every problem at once"
$SG validate --workspace "$WS"
echo
echo "== scanguard explain: why is port 7100 missing from the payment-terminal template?"
$SG explain full-audit@payment-terminals --port 7100/tcp --workspace "$WS"
echo
echo "== scanguard render: every vendor's safe templates, written under $OUT/render"
$SG render --workspace "$WS" --out "$OUT/render" --json > "$OUT/render.json" || {
  echo "render reported errors (see above)" >&2; exit 1; }
$PY - "$OUT/render.json" <<'PYEOF'
import json, sys
from scanguard_nmap.plugin import parse
doc = json.load(open(sys.argv[1]))
by_vendor = {}
for t in doc["templates"]:
    by_vendor[t["vendor"]] = by_vendor.get(t["vendor"], 0) + 1
print("rendered:", ", ".join(f"{n} {v}" for v, n in sorted(by_vendor.items())))
nmap = [t for t in doc["templates"] if t["vendor"] == "nmap"]
bad = [t["name"] for t in nmap if parse(t["payload"]).ports.contains(7100, "tcp")]
if bad or not nmap:
    sys.exit(f"FAIL: nmap templates probing 7100/tcp: {bad}")
print(f"none of the {len(nmap)} nmap templates would probe 7100/tcp")
PYEOF
