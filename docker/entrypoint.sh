#!/usr/bin/env bash
# Container entry point: sources the SocialEgo environment (setup.env of scripts/setup.sh), puts
# the nodes' executables (socialego_all, bag_replay, ...) on PATH, then runs
#   camera [ARGS]   the live pipeline (docker/camera.sh; the default)
#   replay [ARGS]   a bag replay, scored when the bag is labelled (docker/replay.sh)
#   anything else   as a command (e.g. bash, or socialego_all --help)
# SIGTERM (docker stop) reaches the command as SIGINT, the nodes' clean shutdown path, and a run
# stopped that way exits 0.
set -eo pipefail
ROOT="${SOCIALEGO_ROOT:-/opt/socialego}"
# ROS writes its logs under $HOME/.ros: keep that writable whatever --user the container runs as.
if [[ ! -w "${HOME:-/nonexistent}" ]]; then
  export HOME=/tmp/socialego-home
  mkdir -p "$HOME"
fi
# shellcheck disable=SC1091
source "$ROOT/setup.env"
for dir in "$ROOT"/install/*/lib/*/; do
  [[ "$dir" == */python3* ]] || PATH="${dir%/}:$PATH"
done
export PATH

case "${1:-camera}" in
  camera) set -- "$ROOT/docker/camera.sh" "${@:2}" ;;
  replay) set -- "$ROOT/docker/replay.sh" "${@:2}" ;;
esac

# Job control: the command runs in its own process group and does not inherit an ignored SIGINT
# (a background job of a non-interactive shell would).
set -m
"$@" &
child=$!
stopping=0
trap 'stopping=1; kill -INT "$child" 2>/dev/null || true' TERM INT
status=0
wait "$child" || status=$?
# wait returns early when a trap runs: keep waiting for the command itself
while kill -0 "$child" 2>/dev/null; do
  status=0
  wait "$child" || status=$?
done
if [[ $stopping == 1 && ($status == 0 || $status == 130) ]]; then
  echo "entrypoint: stopped on request" >&2
  exit 0
fi
exit "$status"
