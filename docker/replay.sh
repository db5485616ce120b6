#!/usr/bin/env bash
# Bag replay: plays BAG (default: the labelled synthetic demo bag built into the image) through the
# nodes under simulated time (bag_replay --start-nodes --lockstep, so a slow machine loses no
# frame), records their outputs and, when the bag carries ground truth, writes the scored report.
# Results go to RESULTS (default /bags/results/<bag name>): outputs/ (the recorded bag), nodes.log
# and report/ (report.md, scores.json, plots). Extra arguments go to bag_replay (e.g. --rate 0.5).
# Run through the entry point (docker/entrypoint.sh), which sets up the environment.
set -euo pipefail
ROOT="${SOCIALEGO_ROOT:-/opt/socialego}"
BAG="${BAG:-$ROOT/demo_data/bags/synthetic_labelled}"
NAME="$(basename "$BAG")"
RESULTS="${RESULTS:-/bags/results/$NAME}"
[[ -e "$BAG" ]] || { echo "replay.sh: bag $BAG does not exist (mount your bags on /bags)" >&2; exit 1; }
mkdir -p "$RESULTS" || { echo "replay.sh: cannot create $RESULTS (is /bags writable?)" >&2; exit 1; }
rm -rf "$RESULTS/outputs" "$RESULTS/report"
score=()
topics="$(python -m socialego_training.bags info "$BAG")"
if grep -q $'^/socialego/ground_truth\t' <<<"$topics"; then
  score=(--score "$RESULTS/report")
fi
exec bag_replay "$BAG" --start-nodes --lockstep --out "$RESULTS/outputs" \
  --node-log "$RESULTS/nodes.log" "${score[@]}" "$@"
