#!/usr/bin/env bash
# Live camera service: a V4L2 camera driver publishing /camera/image_raw, the SocialEgo nodes
# (pose + intent in one process) and, with a terminal attached, the live per-person table.
# Environment: SOCIALEGO_VIDEO_DEVICE (default /dev/video0), SOCIALEGO_IMAGE_SIZE (640x480),
# SOCIALEGO_MONITOR=0 to skip the table, SOCIALEGO_PARAMS_FILE for a ROS parameter YAML.
set -euo pipefail
DEVICE="${SOCIALEGO_VIDEO_DEVICE:-/dev/video0}"
SIZE="${SOCIALEGO_IMAGE_SIZE:-640x480}"
[[ -e "$DEVICE" ]] || {
  echo "camera.sh: $DEVICE does not exist in the container: pass the camera through" \
    "(compose 'devices:', or docker run --device $DEVICE)" >&2
  exit 1
}
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done; wait; }
trap cleanup EXIT INT TERM

ros2 run v4l2_camera v4l2_camera_node --ros-args \
  -p video_device:="$DEVICE" -p image_size:="[${SIZE/x/,}]" \
  -r image_raw:=/camera/image_raw -r camera_info:=/camera/camera_info &
pids+=($!)
params=()
[[ -n "${SOCIALEGO_PARAMS_FILE:-}" ]] && params=(--params-file "$SOCIALEGO_PARAMS_FILE")
ros2 run socialego_inference socialego_all --image-topic /camera/image_raw --ros-args "${params[@]}" &
pids+=($!)
if [[ -t 1 && "${SOCIALEGO_MONITOR:-1}" != "0" ]]; then
  ros2 run socialego_inference intent_monitor
else
  wait -n
fi
