#!/usr/bin/env bash
# Container health: healthy when /socialego/intents gets a message within SOCIALEGO_HEALTH_WAIT_S
# seconds (default 15). The intent node publishes at its inference rate, an empty array when it
# sees nobody, so silence means the pipeline is down or stuck. Under simulated time (a replay) it
# publishes only while the bag plays.
set -eo pipefail
ROOT="${SOCIALEGO_ROOT:-/opt/socialego}"
[[ -w "${HOME:-/nonexistent}" ]] || export HOME=/tmp/socialego-home
# shellcheck disable=SC1091
source "$ROOT/setup.env"
exec timeout "$((${SOCIALEGO_HEALTH_WAIT_S:-15} + 5))" python "$ROOT/docker/healthcheck.py" \
  --wait "${SOCIALEGO_HEALTH_WAIT_S:-15}"
