#!/usr/bin/env bash
# The tour on the example hospital workspace: validate, explain, render, and a check that no
# rendered nmap template would probe the payment terminal's port 7100; then the live loop on a
# virtual payment terminal: unsafe scan, correlate, confirm by rerun, apply, re-render, safe
# rescan, trial and scorecard.
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

# ---- the live loop: a virtual payment terminal, an unsafe scan, correlation, the fix ---------
# Everything below runs against loopback addresses only (nmap -n), in a scratch copy of the
# workspace, so the example files are never modified.
WSD="$OUT/ws"
# one probe every 1.5 s: slower than the health probe, so the outage lands next to its cause
UNSAFE="-sT -Pn -p 22,80,443,7100,8080,8443 --scan-delay 1500ms --max-retries 0"
DEV=127.0.0.61
LAB=127.0.0.62
PIDS=()
cleanup() {
  local status=$?
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] || continue
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true  # the test bed ends on SIGTERM: its status is no failure of ours
  done
  exit "$status"
}
trap cleanup EXIT
cp -r examples/hospital "$WSD"
# the day before the terminal was profiled: its profile knows where it is, nothing about 7100
cat > "$WSD/profiles/pos-terminal.yaml" <<YAML
id: pos-terminal
name: Cafeteria payment terminal (demo)
vendor: Ingenico
model: Lane/5000
category: payment-terminal
owner: {team: Retail IT, contact: retail-it@hospital.example}
location:
  hosts: [$DEV]
fingerprint:
  open_ports: [443/tcp]
policy: restricted
group: payment-terminals
scope: everywhere
YAML
cat > "$WSD/profiles/lab-terminal.yaml" <<YAML
id: lab-terminal
name: New payment terminal in the test lab
vendor: Ingenico
model: Lane/5000
category: payment-terminal
owner: {team: Retail IT, contact: retail-it@hospital.example}
location:
  hosts: [$LAB]
policy: restricted
group: lab-terminals
scope: everywhere
YAML

echo
echo "== test bed: a virtual payment terminal on $DEV (dies on any connection to 7100/tcp, reboots after 2s)"
$SG testbed run payment-terminal --host "$DEV" --reboot-delay 2 --json > "$OUT/testbed.json" 2> "$OUT/testbed.log" &
PIDS+=($!)
for _ in $(seq 50); do grep -q control_url "$OUT/testbed.json" 2>/dev/null && break; sleep 0.1; done
grep -q control_url "$OUT/testbed.json" || { echo "the test bed did not start" >&2; cat "$OUT/testbed.log" >&2; exit 1; }
echo "  $(tr -d '\n ' < "$OUT/testbed.json")"

echo
echo "== an unsafe scan: a slow, polite connect scan of the usual service ports; 7100 is among them (health monitor watching)"
rc=0; $PY examples/demo_scan.py --target "$DEV" --heartbeat 443 --out "$OUT/scan1" --argv "$UNSAFE" || rc=$?
[ "$rc" = 3 ] || { echo "FAIL: the unsafe scan did not take the terminal down" >&2; exit 1; }

echo
echo "== scanguard correlate: which activity came last before the outage?"
$SG correlate --vendor nmap --activity "$OUT/scan1/nmap.activity.log" --health "$OUT/scan1/health.csv" --workspace "$WSD" || true

echo
echo "== confirm by rerun: the same scan again, once the terminal is back (nmap shuffles the port order)"
rc=0; $PY examples/demo_scan.py --target "$DEV" --heartbeat 443 --out "$OUT/scan2" --argv "$UNSAFE" || rc=$?
[ "$rc" = 3 ] || { echo "FAIL: the rerun did not take the terminal down" >&2; exit 1; }
$SG correlate --vendor nmap --workspace "$WSD" --propose "$OUT/proposal.yaml" \
  --activity "$OUT/scan1/nmap.activity.log" --health "$OUT/scan1/health.csv" \
  --activity "$OUT/scan2/nmap.activity.log" --health "$OUT/scan2/health.csv" || true
grep -q "7100/tcp" "$OUT/proposal.yaml" || { echo "FAIL: no proposal to exclude 7100/tcp" >&2; exit 1; }

echo
echo "== scanguard apply-proposal: the exclusion goes into the terminal's profile (scratch copy)"
$SG apply-proposal "$OUT/proposal.yaml" --workspace "$WSD"
grep -n -A3 "excluded_ports" "$WSD/profiles/pos-terminal.yaml"

echo
echo "== re-render: the payment terminals' nmap template now leaves 7100 out"
$SG render --workspace "$WSD" --vendor nmap --json > "$OUT/render-after.json"
$PY - "$OUT/render-after.json" <<'PYEOF'
import json, sys
from scanguard_nmap.plugin import parse
doc = json.load(open(sys.argv[1]))
t = next(t for t in doc["templates"] if t["vendor"] == "nmap" and t["name"] == "full-audit@payment-terminals")
print("  " + " ".join(t["payload"]["argv"]))
if parse(t["payload"]).ports.contains(7100, "tcp"):
    sys.exit("FAIL: the re-rendered template still probes 7100/tcp")
print("  full-audit@payment-terminals no longer probes 7100/tcp")
PYEOF

echo
echo "== rescan with the safe template (narrowed to the same ports, checks off for time): no harm"
$PY examples/demo_scan.py --target "$DEV" --heartbeat 443 --out "$OUT/scan3" --workspace "$WSD" \
  --template full-audit@payment-terminals --only-ports 1-1024,7000-7200 \
  || { echo "FAIL: the safe rescan took the terminal down" >&2; exit 1; }

echo
echo "== scanguard trial: the staged assessment of a new terminal in the test lab ($LAB)"
rc=0; $SG trial --profile lab-terminal --target "$LAB" --testbed payment-terminal --reboot-delay 1 \
  --ports 1-1024,7000-7200 --apply --out "$OUT/trial" --workspace "$WSD" || rc=$?
[ "$rc" = 3 ] || { echo "FAIL: the trial should have found 7100/tcp (exit $rc)" >&2; exit 1; }

echo
echo "== scanguard scorecard: the device owner's report"
$SG scorecard lab-terminal --format html --out "$OUT/scorecard-lab-terminal.html" --workspace "$WSD"
$SG scorecard lab-terminal --format md --out "$OUT/scorecard-lab-terminal.md" --workspace "$WSD"

echo
echo "== where everything is"
echo "  scratch workspace:       $WSD (profiles/pos-terminal.yaml and lab-terminal.yaml now exclude 7100/tcp)"
echo "  scans and health:        $OUT/scan1 $OUT/scan2 (outages) and $OUT/scan3 (safe rescan)"
echo "  proposal:                $OUT/proposal.yaml"
echo "  trial logs:              $OUT/trial"
echo "  state database:          $WSD/.scanguard/state.db"
echo "  scorecard:               $OUT/scorecard-lab-terminal.html (and .md with .png)"
