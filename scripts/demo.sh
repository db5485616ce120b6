#!/usr/bin/env bash
# SocialEgo demo: the whole suite on one command, from a fresh clone.
#
#   ./scripts/demo.sh                     set up if needed, then:
#     1. real footage (a person walking towards and away from the camera) replayed as a camera
#        bag through pose node -> intent node, with a live per-person table;
#     2. a small labelled synthetic bag through the same pipeline, ending with the scored report
#        (and the same scenes' labelled poses through the intent node alone, scored too).
#   ./scripts/demo.sh --video FILE        your own video file (converted to a bag, then replayed)
#   ./scripts/demo.sh --topic /cam/image  a live image topic (nodes in real time; Ctrl-C stops)
#
# Options: --rate R (playback speed, default 1), --model FILE (student artifact; default: the
# one installed with socialego_inference), --no-real / --no-synthetic (skip a part),
# --out DIR (results; default demo_data/runs/<time>).
# Nothing is downloaded here: setup (scripts/setup.sh) fetched and converted the inputs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '\n\033[1m[demo] %s\033[0m\n' "$*"; }
die() { printf '[demo] ERROR: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; }

VIDEO=""
TOPIC=""
RATE="1.0"
MODEL=""
REAL=1
SYNTHETIC=1
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --video) VIDEO="${2:?--video needs a file}"; shift 2 ;;
    --topic) TOPIC="${2:?--topic needs a topic name}"; shift 2 ;;
    --rate) RATE="${2:?--rate needs a number}"; shift 2 ;;
    --model) MODEL="${2:?--model needs a file}"; shift 2 ;;
    --out) OUT="${2:?--out needs a folder}"; shift 2 ;;
    --no-real) REAL=0; shift ;;
    --no-synthetic) SYNTHETIC=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done
[[ -z "$VIDEO" || -f "$VIDEO" ]] || die "video file $VIDEO does not exist"
[[ -z "$MODEL" || -f "$MODEL" ]] || die "model file $MODEL does not exist"
if [[ -n "$MODEL" ]]; then MODEL="$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")"; fi

# 1. Environment (the first run sets everything up) ----------------------------------------------
if [[ ! -f "$ROOT/setup.env" || ! -d "$ROOT/install/socialego_inference" ]]; then
  say "first run: setting up the workspace (scripts/setup.sh; takes a few minutes once)"
  "$ROOT/scripts/setup.sh"
fi
# shellcheck disable=SC1091
source "$ROOT/setup.env"
python -c "import socialego_inference.bag_replay" 2>/dev/null ||
  die "the workspace is incomplete: run scripts/setup.sh"
# demo inputs: prepared by setup; this only fills in what is missing
"$ROOT/scripts/prepare_demo_data.sh"

BAGS="$ROOT/demo_data/bags"
OUT="${OUT:-$ROOT/demo_data/runs/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
model_args=()
[[ -n "$MODEL" ]] && model_args=(--model "$MODEL")

# Live topic: real time, until Ctrl-C -----------------------------------------------------------
if [[ -n "$TOPIC" ]]; then
  say "live: pose + intent nodes on $TOPIC (Ctrl-C to stop)"
  exec python -m socialego_inference.monitor --start-nodes --topic "$TOPIC" "${model_args[@]}"
fi

replay() { # bag name [extra bag_replay args]
  local bag="$1" name="$2"
  shift 2
  # --lockstep: each image waits for the pose node's answer, so a slow machine loses no frame
  python -m socialego_inference.bag_replay "$bag" --start-nodes --show --rate "$RATE" --lockstep \
    --out "$OUT/$name" --node-log "$OUT/$name.nodes.log" "${model_args[@]}" "$@"
}

# Your video ------------------------------------------------------------------------------------
if [[ -n "$VIDEO" ]]; then
  say "converting $VIDEO into a camera bag"
  python -m socialego_training.bags from-video "$VIDEO" --out "$OUT/video_bag" \
    --max-width 640 --fps 10
  say "replaying it through pose node -> intent node"
  replay "$OUT/video_bag" video_outputs
  say "done: recorded outputs in $OUT/video_outputs"
  exit 0
fi

T0=$(date +%s)
if [[ "$REAL" == 1 ]]; then
  say "1/2 real footage: a person walks towards and away from the camera (stream-pose-ml example video)"
  replay "$BAGS/walking" walking_outputs
fi
if [[ "$SYNTHETIC" == 1 ]]; then
  say "2/2 labelled synthetic scenes: the same pipeline, then scored against the labels"
  replay "$BAGS/synthetic_labelled" synthetic_outputs --score "$OUT/report" \
    --title "SocialEgo demo: labelled synthetic bag, camera -> pose node -> intent node"
  say "the same scenes' labelled poses straight into the intent node (the student alone)"
  replay "$BAGS/synthetic_poses" synthetic_poses_outputs --score "$OUT/report_student" \
    --title "SocialEgo demo: labelled synthetic poses -> intent node"
  say "reports: $OUT/report/report.md (whole pipeline) and $OUT/report_student/report.md" \
    "(student on the labelled poses); plots: confusion.png, intent_timeline.png, latency.png"
fi
say "demo finished in $(($(date +%s) - T0)) s; results in $OUT"
