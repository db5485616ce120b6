#!/usr/bin/env bash
# Live camera pipeline: a camera driver publishing /camera/image_raw (docker/camera_publisher.py:
# OpenCV on a V4L2 device), the SocialEgo nodes (pose + intent in one process, socialego_all) and,
# with a terminal attached, the live per-person table. Run through the entry point.
# Environment: SOCIALEGO_VIDEO_DEVICE (default /dev/video0; a video file works too),
# SOCIALEGO_IMAGE_SIZE (640x480), SOCIALEGO_FPS (30), SOCIALEGO_MONITOR=0 to skip the table,
# SOCIALEGO_PARAMS_FILE for a ROS parameter YAML, SOCIALEGO_IMAGE_TOPIC to use a camera driver
# running elsewhere on the ROS network instead (then no device is opened here).
set -euo pipefail
ROOT="${SOCIALEGO_ROOT:-/opt/socialego}"
DEVICE="${SOCIALEGO_VIDEO_DEVICE:-/dev/video0}"
TOPIC="${SOCIALEGO_IMAGE_TOPIC:-}"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait
}
trap cleanup EXIT
trap 'exit 130' INT TERM
set -m # children keep SIGINT (their clean shutdown) instead of ignoring it as background jobs

if [[ -z "$TOPIC" ]]; then
  [[ -e "$DEVICE" ]] || {
    echo "camera.sh: $DEVICE does not exist in the container: pass the camera through" \
      "(compose 'devices:', or docker run --device $DEVICE), or set SOCIALEGO_IMAGE_TOPIC" >&2
    exit 1
  }
  TOPIC=/camera/image_raw
  python "$ROOT/docker/camera_publisher.py" "$DEVICE" --size "${SOCIALEGO_IMAGE_SIZE:-640x480}" \
    --fps "${SOCIALEGO_FPS:-30}" --ros-args -r "image:=$TOPIC" &
  pids+=($!)
fi
params=()
[[ -n "${SOCIALEGO_PARAMS_FILE:-}" ]] && params=(--params-file "$SOCIALEGO_PARAMS_FILE")
socialego_all --image-topic "$TOPIC" --ros-args "${params[@]}" &
pids+=($!)
if [[ -t 1 && "${SOCIALEGO_MONITOR:-1}" != "0" ]]; then
  intent_monitor
else
  wait -n
fi
