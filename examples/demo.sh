#!/usr/bin/env bash
# The five-minute tour on the example hospital workspace: validate, explain, render.
set -euo pipefail
cd "$(dirname "$0")/.."
SG=.venv/bin/scanguard
WS=examples/hospital
OUT=out/demo
echo "== scanguard validate: the workspace is checked, every problem at once"
$SG validate --workspace "$WS"
echo
echo "== scanguard explain: why is port 7100 missing from the payment-terminal template?"
$SG explain full-audit@payment-terminals --port 7100/tcp --workspace "$WS"
echo
echo "== scanguard render: safe templates for every vendor, written under $OUT"
rm -rf "$OUT"
$SG render --vendor nmap --workspace "$WS" --out "$OUT" >/dev/null
if grep -l -- "7100" "$OUT"/nmap/*.sh | xargs grep -h -- "-p " | grep -qE '(^|[ ,:])7100([ ,]|$)'; then
  echo "FAIL: a rendered nmap template probes 7100/tcp" >&2; exit 1
fi
echo "no rendered nmap template probes 7100/tcp; files: $(ls "$OUT"/nmap | wc -l) under $OUT/nmap"
