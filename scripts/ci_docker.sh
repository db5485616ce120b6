#!/usr/bin/env bash
# CI step (called by .ci/run): build the image users build (docker/Dockerfile) with podman, and run it:
#   1. the final image is CPU-only (no CUDA torch, no nvidia/CUDA Python or Debian package), holds
#      no compiler, build tree or pip cache, and runs as a non-root user;
#   2. `replay` on the demo's labelled bag, without network: intents come out and the scored
#      report is written;
#   3. `camera` with the demo video as its camera turns healthy (the image's HEALTHCHECK) and
#      exits cleanly (status 0) on SIGTERM (podman stop).
# Image registries are out of reach here: the base image debian:bookworm-slim is a Debian bookworm
# made with debootstrap (minbase) and imported under that name, and torch comes from a wheel folder
# in the build context (docker/wheels/, filled with `pip download`) instead of PyTorch's index.
# Cached between runs on one machine: the base image tarball and the torch wheel (SOCIALEGO_CI_CACHE,
# default ~/.cache/socialego-ci), podman's layers (the pinned Python packages are one layer) and
# pip's cache mount. Needs root (rootful podman); installs podman, runc and debootstrap (apt) if
# missing. Prints its timings; logs in the cache folder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SOCIALEGO_CI_CACHE:-$HOME/.cache/socialego-ci}"
IMAGE="${SOCIALEGO_CI_IMAGE:-localhost/socialego:ci}"
BASE=docker.io/library/debian:bookworm-slim
T0=$(date +%s)
say() { printf '[ci-docker] %s\n' "$*"; }
die() {
  printf '[ci-docker] FAILED: %s\n' "$*" >&2
  exit 1
}
elapsed() { echo "$(($(date +%s) - $1))"; }

[[ "$(id -u)" == 0 ]] || die "needs root (rootful podman)"
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing ${missing[*]} (Debian packages)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap; } \
    >/dev/null || die "apt-get install podman runc debootstrap failed"
fi
mkdir -p "$CACHE/wheels"
# What works on these machines: runc and the cgroupfs manager (no systemd), no default ulimits
# (the machine's hard limits are below podman's defaults), events in a file.
cat >"$CACHE/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
EOF
export CONTAINERS_CONF="$CACHE/containers.conf"
# Without systemd, podman reports on every run that it cannot set up health-check timers: noise.
podman() { command podman "$@" 2> >(grep -v "unable to get systemd connection" >&2); }
say "$(podman --version), cache $CACHE"

# 1. Base image ---------------------------------------------------------------------------------
T_BASE=$(date +%s)
if ! podman image exists "$BASE"; then
  if [[ ! -s "$CACHE/bookworm-minbase.tar" ]]; then
    say "debootstrap: Debian bookworm (minbase) as $BASE"
    rootfs="$(mktemp -d)"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
      >"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed; see $CACHE/debootstrap.log"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$CACHE/bookworm-minbase.tar.tmp" .
    mv "$CACHE/bookworm-minbase.tar.tmp" "$CACHE/bookworm-minbase.tar"
    rm -rf "$rootfs"
  fi
  podman import -q "$CACHE/bookworm-minbase.tar" "$BASE" >/dev/null
fi
BASE_S=$(elapsed "$T_BASE")

# 2. The CPU torch wheel, into the build context --------------------------------------------------
TORCH="$(sed -n 's/^torch==\([^ ]*\).*/\1/p' "$ROOT/requirements/torch.txt")"
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || PY="$(command -v python3)"
"$PY" -m pip download -q --no-deps "torch==$TORCH" -d "$CACHE/wheels" 2>&1 |
  { grep -v "is ignored: it is neither a file nor a directory" || true; }
wheels=("$CACHE"/wheels/torch-"$TORCH"*.whl)
[[ -f "${wheels[0]}" ]] || die "pip download torch==$TORCH put no wheel in $CACHE/wheels"
[[ "${wheels[0]}" == *+cpu* ]] || say "WARNING: ${wheels[0]##*/} is not a +cpu build"
cleanup() { rm -f "$ROOT"/docker/wheels/*.whl; }
trap cleanup EXIT
for wheel in "${wheels[@]}"; do
  ln -f "$wheel" "$ROOT/docker/wheels/" 2>/dev/null || cp "$wheel" "$ROOT/docker/wheels/"
done

# 3. Build --------------------------------------------------------------------------------------
# --format docker keeps the HEALTHCHECK. pip checks TLS against the host's CA store, mounted for the
# build (this network inspects TLS; the image's own store stays Debian's).
BUILD_ARGS=(--network=host --format docker --pull=never --build-arg TORCH_INDEX_URL=
  -f "$ROOT/docker/Dockerfile")
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
  BUILD_ARGS+=(-v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg PIP_CERT=/run/host-ca.crt)
fi
say "podman build -f docker/Dockerfile -t $IMAGE (torch from docker/wheels/)"
T_BUILD=$(date +%s)
old_image="$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
podman build "${BUILD_ARGS[@]}" -t "$IMAGE" "$ROOT" >"$CACHE/build.log" 2>&1 || {
  tail -40 "$CACHE/build.log" >&2
  die "podman build failed (whole log: $CACHE/build.log)"
}
BUILD_S=$(elapsed "$T_BUILD")
# The build stage stays tagged: its layers (the pinned Python packages) are the next build's cache.
podman build "${BUILD_ARGS[@]}" --target build -t "$IMAGE-build" "$ROOT" >>"$CACHE/build.log" 2>&1 || true
cleanup
SIZE_MB=$(($(podman image inspect --format '{{.Size}}' "$IMAGE") / 1000000))
say "built in ${BUILD_S} s; image $SIZE_MB MB"
# The previous run's images go (their layers would fill the disk run after run).
T_PRUNE=$(date +%s)
new_image="$(podman image inspect --format '{{.Id}}' "$IMAGE")"
if [[ -n "$old_image" && "$old_image" != "$new_image" ]]; then
  podman rmi -f "$old_image" >/dev/null 2>&1 || true
fi
podman image prune -f >/dev/null 2>&1 || true
PRUNE_S=$(elapsed "$T_PRUNE")

# 4. What the final image holds ------------------------------------------------------------------
# podman runs a HEALTHCHECK from a systemd timer, absent here: --health-interval=disable (the
# camera run below runs it by hand).
podman run --rm --network=none --health-interval=disable "$IMAGE" python /opt/socialego/docker/check_cpu_only.py ||
  die "the image is not CPU-only"
podman run --rm --network=none --health-interval=disable "$IMAGE" bash -c '
  set -e
  gpu="$(dpkg-query -W -f "\${Package}\n" | grep -Ei "nvidia|cuda" || true)"
  [[ -z "$gpu" ]] || { echo "Debian GPU packages: $gpu"; exit 1; }
  for tool in cc gcc g++ c++ cmake make; do
    if command -v "$tool"; then echo "compiler/build tool in the image: $tool"; exit 1; fi
  done
  for dir in /opt/socialego/build /opt/socialego/demo_data/cache /root/.cache/pip; do
    if [[ -e "$dir" ]]; then echo "left in the image: $dir"; exit 1; fi
  done
  if compgen -G "/opt/socialego/docker/wheels/*.whl" >/dev/null; then echo "a wheel was left"; exit 1; fi
  [[ "$(id -u)" != 0 ]] || { echo "runs as root"; exit 1; }
  echo "image contents OK: no GPU packages, no build tools or caches, user $(id -un)"
' || die "the final image holds what it should not"

# 5. Replay of the labelled demo bag, scored -------------------------------------------------------
RESULTS="$(mktemp -d)"
chmod 777 "$RESULTS" # the container's user (uid 1000) writes there
T_RUN=$(date +%s)
say "replay of the labelled demo bag (no network)"
podman run --rm --network=none --health-interval=disable -v "$RESULTS:/bags" "$IMAGE" replay >"$CACHE/replay.log" 2>&1 || {
  tail -40 "$CACHE/replay.log" >&2
  tail -40 "$RESULTS/results/synthetic_labelled/nodes.log" >&2 2>/dev/null || true
  die "the replay failed"
}
RUN_S=$(elapsed "$T_RUN")
grep -E "^(bag_replay|scores|report)" "$CACHE/replay.log" || true
grep -Eq "/socialego/intents [1-9]" "$CACHE/replay.log" || die "no intents were recorded"
REPORT="$RESULTS/results/synthetic_labelled/report"
[[ -s "$REPORT/report.md" && -s "$REPORT/scores.json" ]] || die "no scored report in $REPORT"
python3 - "$REPORT/scores.json" <<'EOF' || die "the scores are incomplete"
import json
import sys

with open(sys.argv[1], encoding="utf-8") as f:
    scores = json.load(f)
final = scores["metrics"]["final"]  # the final decision per labelled person
assert scores["tracks"], "no labelled person was scored"
for task in ("intent", "attitude", "action"):
    assert 0.0 <= final[task]["accuracy"] <= 1.0, (task, final[task])
print(
    f"[ci-docker] scored {len(scores['tracks'])} people: "
    + ", ".join(f"{t} accuracy {100 * final[t]['accuracy']:.1f}%" for t in ("intent", "attitude", "action"))
)
EOF
rm -rf "$RESULTS"

# 6. Live camera pipeline (the demo video as its camera): healthy, then SIGTERM -------------------
NAME="socialego-ci-camera-$$"
T_CAM=$(date +%s)
say "camera pipeline on the demo video: health check, then SIGTERM"
podman run -d --name "$NAME" --network=none --health-interval=disable -e SOCIALEGO_MONITOR=0 \
  -e SOCIALEGO_VIDEO_DEVICE=/opt/socialego/demo_data/example_video.webm -e SOCIALEGO_FPS=10 \
  "$IMAGE" camera >/dev/null
trap 'cleanup; podman rm -f "$NAME" >/dev/null 2>&1 || true' EXIT
healthy=0
for _ in $(seq 1 18); do
  [[ "$(podman inspect --format '{{.State.Running}}' "$NAME")" == true ]] || break
  if podman healthcheck run "$NAME" >/dev/null 2>&1; then
    healthy=1
    break
  fi
  sleep 5
done
HEALTHY_S=$(elapsed "$T_CAM")
[[ $healthy == 1 ]] || {
  podman logs "$NAME" 2>&1 | tail -30 >&2
  die "the camera pipeline never turned healthy"
}
T_STOP=$(date +%s)
podman stop -t 30 "$NAME" >/dev/null
STOP_S=$(elapsed "$T_STOP")
code="$(podman inspect --format '{{.State.ExitCode}}' "$NAME")"
podman logs "$NAME" >"$CACHE/camera.log" 2>&1 || true
[[ "$code" == 0 ]] || {
  tail -30 "$CACHE/camera.log" >&2
  die "the container exited with $code on SIGTERM (137: killed after the 30 s grace time)"
}
podman rm "$NAME" >/dev/null
CAM_S=$(elapsed "$T_CAM")
say "camera: healthy after ${HEALTHY_S} s, exited 0 on SIGTERM in ${STOP_S} s"
say "OK: base image ${BASE_S} s, build ${BUILD_S} s, old images removed in ${PRUNE_S} s," \
  "image $SIZE_MB MB, replay ${RUN_S} s, camera ${CAM_S} s, whole step $(elapsed "$T0") s"
