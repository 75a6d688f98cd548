#!/usr/bin/env bash
# Every benchmark once, one after another (they share ports 8090-8091 and the two cores),
# each printing its Markdown table; JSON goes to bench/results/. About 45 minutes with the
# defaults below; the full morning rush (RUSH_COUNT=100000) adds about an hour today.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
RUSH_COUNT=${RUSH_COUNT:-10000}
SOAK_MINUTES=${SOAK_MINUTES:-10}
uptime
$PY bench/queries.py
$PY bench/weight.py --guide-all
$PY bench/lighthouse.py
$PY bench/pages.py
$PY bench/replan.py
$PY bench/explain.py
$PY bench/rush.py --count "$RUSH_COUNT"
$PY bench/soak.py --minutes "$SOAK_MINUTES"
uptime
