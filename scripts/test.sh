#!/usr/bin/env bash
# Run every test of the workspace: lint (ruff check + ruff format --check), then pytest over
# tests/, socialego_training/tests/ and each ament package's test/ folder, inside setup.env.
# On a fresh clone it runs scripts/setup.sh first.
#
#   scripts/test.sh                  everything
#   scripts/test.sh -k dds -x        extra pytest arguments are passed through
#   scripts/test.sh tests/test_messages.py   a path argument replaces the default test folders
#   SOCIALEGO_SKIP_LINT=1 scripts/test.sh    pytest only
# Exit status: non-zero if lint or pytest failed (pytest's own code when pytest failed).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
if [[ ! -f "$ROOT/setup.env" || ! -d "$ROOT/install" ]]; then
  echo "[test] the workspace is not set up yet: running scripts/setup.sh first"
  bash "$ROOT/scripts/setup.sh" || exit 2
fi
# shellcheck disable=SC1091
source "$ROOT/setup.env"
# Tests never send DDS traffic off this machine, whatever the caller's shell says.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST

lint_status=0
if [[ -z "${SOCIALEGO_SKIP_LINT:-}" ]]; then
  echo "[test] ruff check ."
  ruff check --output-format concise . || lint_status=1
  echo "[test] ruff format --check ."
  ruff format --check . || lint_status=1
  [[ $lint_status -eq 0 ]] && echo "[test] lint: OK" || echo "[test] lint: FAILED" >&2
fi

# Default test folders, unless the caller named paths (or node ids) of their own.
explicit_paths=0
for arg in "$@"; do
  [[ "$arg" != -* && -e "${arg%%::*}" ]] && explicit_paths=1
done
targets=()
if [[ $explicit_paths -eq 0 ]]; then
  for dir in tests socialego_training/tests; do
    [[ -d "$dir" ]] && targets+=("$dir")
  done
  # test/ folders of the ament packages (each */package.xml at the top level).
  while IFS= read -r pkg_xml; do
    pkg_dir="$(dirname "$pkg_xml")"
    [[ -d "$pkg_dir/test" ]] && targets+=("$pkg_dir/test")
  done < <(find . -mindepth 2 -maxdepth 2 -name package.xml -not -path './.venv/*' | sed 's|^\./||' | sort)
fi

echo "[test] python -m pytest ${targets[*]} $*"
python -m pytest "${targets[@]}" "$@"
pytest_status=$?

if [[ $pytest_status -ne 0 ]]; then
  exit "$pytest_status"
fi
exit "$lint_status"
