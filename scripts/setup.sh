#!/usr/bin/env bash
# One command from a bare checkout to a working SocialEgo workspace:
#   1. refuses early, with a clear message, a wrong Python or a missing compiler/CMake;
#   2. creates .venv/ in the checkout and installs pinned ROS 2 Kilted wheels, colcon, torch 2.13.0
#      (CPU), torch-geometric, the ROS nodes' runtime deps and socialego_training (editable, [dev]);
#   3. repairs the wheels' CMake include paths, builds every ament package with colcon into install/;
#   4. writes setup.env (source it).
# Re-running is safe and fast: pip is skipped while the requirement files are unchanged (hash stamp);
# colcon always runs (incremental).
#
# Environment knobs:
#   SOCIALEGO_PYTHON=/path/to/python3.11   interpreter for a new .venv (default: python3.11 on PATH)
#   SOCIALEGO_FORCE_INSTALL=1              re-run the pip steps even if the stamp matches
#   CC, CXX, CMAKE_COMMAND                 compilers / CMake to use (as CMake and colcon read them)
# For installs that run no tests and have no PyTorch CPU wheels on pip's default paths (the
# Docker image, docker/Dockerfile, is built with these; the defaults above are unchanged):
#   SOCIALEGO_TORCH_INDEX_URL=URL          extra pip index for the torch step only (CPU wheels:
#                                          https://download.pytorch.org/whl/cpu)
#   SOCIALEGO_TORCH_WHEELS=DIR             folder holding the torch wheel (pip --find-links)
#   SOCIALEGO_NO_DEV=1                     no test and lint tools (requirements/dev.txt, the [dev]
#                                          extra) and no test footage
#   SOCIALEGO_DEPS_ONLY=1                  only the pinned Python packages, then stop (no
#                                          socialego_training, no colcon): a cacheable first step
#   SOCIALEGO_NO_SYMLINK=1                 colcon copies into install/ instead of linking to the
#                                          sources and build/, so build/ may be deleted afterwards
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/requirements"
STAMP="$VENV/.socialego-install-stamp"
REQUIRED_PY="3.11"
MIN_CMAKE="3.16"
# Bump to force a reinstall on every checkout when the install steps below change.
INSTALL_RECIPE=3

T0=$(date +%s)
say() { printf '[setup] %s\n' "$*"; }
die() {
  printf '\n[setup] ERROR: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '[setup]   %s\n' "$line" >&2; done
  exit 1
}

# ---------------------------------------------------------------------------------------------
# 1. Preconditions, checked before anything is created or installed.
# ---------------------------------------------------------------------------------------------
if [[ -n "${SOCIALEGO_PYTHON:-}" ]]; then
  PY="$SOCIALEGO_PYTHON"
elif [[ -x "$VENV/bin/python" ]]; then
  PY="$VENV/bin/python"
elif command -v "python$REQUIRED_PY" >/dev/null 2>&1; then
  PY="$(command -v "python$REQUIRED_PY")"
else
  PY="$(command -v python3 || true)"
fi
[[ -n "$PY" ]] || die "no Python found." \
  "SocialEgo needs Python $REQUIRED_PY (the ROS 2 Kilted wheels are built for CPython 3.11)." \
  "Install it (e.g. apt-get install python3.11 python3.11-venv python3.11-dev) or set SOCIALEGO_PYTHON."
PY_VERSION="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)"
if [[ "$PY_VERSION" != "$REQUIRED_PY" ]]; then
  die "wrong Python version: $PY is '${PY_VERSION:-not runnable}', SocialEgo needs Python $REQUIRED_PY." \
    "The ROS 2 Kilted wheels on PyPI exist only for CPython $REQUIRED_PY (cp311)." \
    "Point SOCIALEGO_PYTHON at a python$REQUIRED_PY interpreter, or remove a .venv made with another one."
fi
PY_INCLUDE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
[[ -f "$PY_INCLUDE/Python.h" ]] || die "Python headers missing: $PY_INCLUDE/Python.h does not exist." \
  "Building socialego_msgs compiles Python extension modules; install python$REQUIRED_PY-dev."

CC_BIN="${CC:-cc}"
CXX_BIN="${CXX:-c++}"
CMAKE_BIN="${CMAKE_COMMAND:-cmake}"
command -v "$CC_BIN" >/dev/null 2>&1 || die "no C compiler: '$CC_BIN' not found." \
  "Building socialego_msgs needs a C and a C++ compiler and CMake >= $MIN_CMAKE." \
  "Debian/Ubuntu: apt-get install build-essential cmake   (or set CC to your compiler)"
command -v "$CXX_BIN" >/dev/null 2>&1 || die "no C++ compiler: '$CXX_BIN' not found." \
  "Building socialego_msgs needs a C and a C++ compiler and CMake >= $MIN_CMAKE." \
  "Debian/Ubuntu: apt-get install build-essential cmake   (or set CXX to your compiler)"
command -v "$CMAKE_BIN" >/dev/null 2>&1 || die "CMake not found: '$CMAKE_BIN'." \
  "Building socialego_msgs needs CMake >= $MIN_CMAKE. Debian/Ubuntu: apt-get install cmake"
CMAKE_VERSION="$("$CMAKE_BIN" --version 2>/dev/null | sed -n 's/^cmake version \([0-9.]*\).*/\1/p')"
if [[ -z "$CMAKE_VERSION" ]] ||
  [[ "$(printf '%s\n%s\n' "$MIN_CMAKE" "$CMAKE_VERSION" | sort -V | head -1)" != "$MIN_CMAKE" ]]; then
  die "CMake ${CMAKE_VERSION:-of unknown version} at $(command -v "$CMAKE_BIN") is too old or broken; need >= $MIN_CMAKE."
fi
# A compiler that exists but cannot build anything fails later as a CMake stack trace: try it now.
PROBE_DIR="$(mktemp -d)"
trap 'rm -rf "$PROBE_DIR"' EXIT
printf 'int main(void) { return 0; }\n' >"$PROBE_DIR/probe.c"
printf '#include <vector>\nint main() { std::vector<int> v{1}; return v[0] - 1; }\n' >"$PROBE_DIR/probe.cpp"
"$CC_BIN" "$PROBE_DIR/probe.c" -o "$PROBE_DIR/probe_c" >"$PROBE_DIR/cc.log" 2>&1 ||
  die "the C compiler '$CC_BIN' cannot compile a trivial program:" "$(head -5 "$PROBE_DIR/cc.log")"
"$CXX_BIN" "$PROBE_DIR/probe.cpp" -o "$PROBE_DIR/probe_cpp" >"$PROBE_DIR/cxx.log" 2>&1 ||
  die "the C++ compiler '$CXX_BIN' cannot compile a trivial program:" "$(head -5 "$PROBE_DIR/cxx.log")"
if [[ -n "${SOCIALEGO_TORCH_WHEELS:-}" && ! -d "${SOCIALEGO_TORCH_WHEELS}" ]]; then
  die "SOCIALEGO_TORCH_WHEELS=$SOCIALEGO_TORCH_WHEELS is not a folder (it should hold the torch wheel)."
fi
for f in torch.txt ros-kilted.txt dev.txt training.txt; do
  [[ -f "$REQ/$f" ]] || die "missing requirements file: $REQ/$f (is this a complete checkout?)"
done
say "Python $PY_VERSION ($PY), $("$CC_BIN" --version | head -1), CMake $CMAKE_VERSION: OK"

# One setup at a time per checkout (two concurrent colcon builds would corrupt build/).
mkdir -p "$ROOT/log"
exec 9>"$ROOT/log/.setup.lock"
flock 9

# ---------------------------------------------------------------------------------------------
# 2. Virtual environment and pinned Python packages.
# ---------------------------------------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating $VENV"
  "$PY" -m venv "$VENV" || die "could not create the virtual environment $VENV with $PY." \
    "Debian/Ubuntu: apt-get install python$REQUIRED_PY-venv"
fi
VENV_PY="$VENV/bin/python"
# The wheels put package.xml files under .venv/share: a colcon run from a parent folder must not
# mistake them for packages of this workspace.
touch "$VENV/COLCON_IGNORE"
[[ "$("$VENV_PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" == "$REQUIRED_PY" ]] ||
  die "$VENV was made with another Python; remove it (rm -rf $VENV) and run setup again."

# shellcheck disable=SC1091
source "$VENV/bin/activate"
export PIP_DISABLE_PIP_VERSION_CHECK=1
[[ "${CI:-}" == "true" ]] && export PIP_PROGRESS_BAR=off

TRAINING="$ROOT/socialego_training"
RUNTIME_REQ="$REQ/runtime.txt"
install_hash() {
  {
    echo "recipe $INSTALL_RECIPE${SOCIALEGO_NO_DEV:+ no-dev}"
    for f in "$REQ"/*.txt "$TRAINING/pyproject.toml"; do
      if [[ -f "$f" ]]; then echo "${f#"$ROOT"/}" && cat "$f"; fi
    done
  } | sha256sum | cut -d' ' -f1
}
# Quiet pip, minus the warnings about this machine's optional local package folders.
pip_install() {
  say "pip install $*"
  local rc=0
  python -m pip install -q "$@" 2>&1 | { grep -vE "^WARNING: Location 'file://.*' is ignored" || true; } || rc=$?
  [[ $rc -eq 0 ]] || die "pip install $* failed (exit $rc); see pip's messages above."
}
HASH="$(install_hash)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" && -z "${SOCIALEGO_FORCE_INSTALL:-}" ]]; then
  say "Python packages up to date (requirement files unchanged since the last install)"
else
  T_PIP=$(date +%s)
  rm -f "$STAMP"
  say "installing Python packages (pinned) into $VENV"
  pip_install pip==26.3
  # torch alone first: it must be the CPU wheel 2.13.0, before anything that depends on torch.
  TORCH_FROM=()
  [[ -n "${SOCIALEGO_TORCH_INDEX_URL:-}" ]] && TORCH_FROM+=(--extra-index-url "$SOCIALEGO_TORCH_INDEX_URL")
  [[ -n "${SOCIALEGO_TORCH_WHEELS:-}" ]] && TORCH_FROM+=(--find-links "$SOCIALEGO_TORCH_WHEELS")
  pip_install "${TORCH_FROM[@]}" -c "$REQ/torch.txt" "torch==2.13.0"
  DEV=(-r "$REQ/dev.txt")
  EXTRA="[dev]"
  [[ -n "${SOCIALEGO_NO_DEV:-}" ]] && DEV=() && EXTRA=""
  pip_install -c "$REQ/torch.txt" -r "$REQ/torch.txt" -r "$REQ/ros-kilted.txt" "${DEV[@]}"
  PIN=(-c "$REQ/torch.txt" -c "$REQ/ros-kilted.txt" -c "$REQ/dev.txt" -c "$REQ/training.txt")
  if [[ -f "$RUNTIME_REQ" ]] && grep -qvE '^\s*(#|$)' "$RUNTIME_REQ"; then
    pip_install "${PIN[@]}" -r "$RUNTIME_REQ"
  fi
  if [[ -n "${SOCIALEGO_DEPS_ONLY:-}" ]]; then
    # socialego_training's pinned dependencies, without the package itself (its sources may be
    # absent in this step); no stamp, so the next full run installs the package.
    pip_install "${PIN[@]}" -r "$REQ/training.txt"
  elif [[ -f "$TRAINING/pyproject.toml" ]]; then
    pip_install "${PIN[@]}" -e "${TRAINING}${EXTRA}"
  else
    say "WARNING: $TRAINING/pyproject.toml is missing; socialego_training not installed"
  fi
  # A torch other than 2.13.0 means a dependency slipped past the pins: fail loudly here.
  python - <<'EOF'
import importlib.metadata as md
import sys

v = md.version("torch")
if not v.startswith("2.13.0"):
    sys.exit(f"[setup] ERROR: torch {v} got installed; only torch==2.13.0 is allowed")
EOF
  [[ -n "${SOCIALEGO_DEPS_ONLY:-}" ]] || echo "$HASH" >"$STAMP"
  say "Python packages installed in $(($(date +%s) - T_PIP)) s"
fi
if [[ -n "${SOCIALEGO_DEPS_ONLY:-}" ]]; then
  say "SOCIALEGO_DEPS_ONLY: stopping before socialego_training and colcon"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# 3. Repair the wheels' CMake files and build the ament packages.
# ---------------------------------------------------------------------------------------------
python "$ROOT/scripts/repair_ros_wheels.py" "$VENV"

# Only the repo's own package folders: colcon must never crawl .venv, build/ or install/.
mapfile -t PKG_DIRS < <(
  cd "$ROOT" && find . -mindepth 2 -maxdepth 2 -name package.xml \
    -not -path './.venv/*' -not -path './build/*' -not -path './install/*' -not -path './log/*' \
    -printf '%h\n' | sed 's|^\./||' | sort
)
[[ ${#PKG_DIRS[@]} -gt 0 ]] || die "no ament package (*/package.xml) found under $ROOT"
say "colcon build: ${PKG_DIRS[*]}"
export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CC="$CC_BIN" CXX="$CXX_BIN"
CMAKE_COMMAND="$(command -v "$CMAKE_BIN")"
export CMAKE_COMMAND
SYMLINK=(--symlink-install)
[[ -n "${SOCIALEGO_NO_SYMLINK:-}" ]] && SYMLINK=()
T_BUILD=$(date +%s)
(
  cd "$ROOT"
  # The venv prefix has no colcon local_setup file; colcon's warning about that is noise here.
  nice colcon --log-level error build "${SYMLINK[@]}" --base-paths "${PKG_DIRS[@]}" \
    --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$VENV_PY" \
    -DPython3_FIND_VIRTUALENV=ONLY -DCMAKE_BUILD_TYPE=Release
) || die "colcon build failed; the log is in $ROOT/log/latest_build/"
say "colcon build finished in $(($(date +%s) - T_BUILD)) s"
# Real footage of people (from Debian/PyPI packages) for the pose tests and benchmarks; non-fatal.
if [[ -z "${SOCIALEGO_NO_DEV:-}" ]]; then
  bash "$ROOT/scripts/fetch_footage.sh" || say "WARNING: footage not fetched; tests needing it skip"
fi

# ---------------------------------------------------------------------------------------------
# 4. setup.env
# ---------------------------------------------------------------------------------------------
cat >"$ROOT/setup.env" <<EOF
# Generated by scripts/setup.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Source it (bash or zsh):
#   source $ROOT/setup.env
# DDS stays on this machine unless you set ROS_AUTOMATIC_DISCOVERY_RANGE yourself before sourcing
# (e.g. SUBNET for a real robot network).
export ROS_AUTOMATIC_DISCOVERY_RANGE="\${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
export RMW_IMPLEMENTATION="\${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
# The activate script is not written with 'set -u' in mind.
case "\$-" in *u*) _socialego_u=1; set +u ;; *) _socialego_u= ;; esac
. "$VENV/bin/activate"
case ":\${AMENT_PREFIX_PATH:-}:" in *":$VENV:"*) ;; *) export AMENT_PREFIX_PATH="$VENV\${AMENT_PREFIX_PATH:+:\$AMENT_PREFIX_PATH}" ;; esac
case ":\${CMAKE_PREFIX_PATH:-}:" in *":$VENV:"*) ;; *) export CMAKE_PREFIX_PATH="$VENV\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}" ;; esac
if [ -n "\${BASH_VERSION:-}" ]; then
  . "$ROOT/install/local_setup.bash"
elif [ -n "\${ZSH_VERSION:-}" ]; then
  . "$ROOT/install/local_setup.zsh"
else
  COLCON_CURRENT_PREFIX="$ROOT/install" . "$ROOT/install/local_setup.sh"
fi
[ -n "\$_socialego_u" ] && set -u
unset _socialego_u
export SOCIALEGO_ROOT="$ROOT"
EOF

# 5. Demo inputs (scripts/prepare_demo_data.sh, owned by the demo): fetched and converted now,
#    never when the demo runs. SOCIALEGO_SKIP_DEMO_DATA=1 skips it; failure only warns.
if [[ -z "${SOCIALEGO_SKIP_DEMO_DATA:-}" ]]; then
  # shellcheck disable=SC1091
  (source "$ROOT/setup.env" && bash "$ROOT/scripts/prepare_demo_data.sh") ||
    say "WARNING: demo inputs not prepared; ./scripts/demo.sh will try again"
fi

if [[ -n "${T_PIP:-}" ]]; then  # sizes only after an install: du over the venv takes seconds
  SIZES=" (.venv $(du -sh "$VENV" | cut -f1), install/ $(du -sh "$ROOT/install" | cut -f1))"
fi
say "done in $(($(date +%s) - T0)) s${SIZES:-}"
say "next:  source $ROOT/setup.env"
