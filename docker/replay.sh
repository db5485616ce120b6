#!/usr/bin/env bash
# Bag replay service: plays BAG (default: the labelled synthetic demo bag built into the image)
# through the nodes under simulated time, records their outputs and, when the bag carries ground
# truth, writes the scored report. Results go to RESULTS (default /bags/results/<bag name>).
# Extra arguments go to bag_replay (e.g. --rate 0.5, --show).
set -euo pipefail
BAG="${BAG:-/ws/demo_data/bags/synthetic_labelled}"
NAME="$(basename "$BAG")"
RESULTS="${RESULTS:-/bags/results/$NAME}"
[[ -e "$BAG" ]] || { echo "replay.sh: bag $BAG does not exist (mount your bags on /bags)" >&2; exit 1; }
mkdir -p "$RESULTS"
rm -rf "$RESULTS/outputs"
score=()
if python3 -m socialego_training.bags info "$BAG" | grep -q $'^/socialego/ground_truth\t'; then
  score=(--score "$RESULTS/report")
fi
exec ros2 run socialego_inference bag_replay "$BAG" --start-nodes \
  --out "$RESULTS/outputs" --node-log "$RESULTS/nodes.log" "${score[@]}" "$@"
