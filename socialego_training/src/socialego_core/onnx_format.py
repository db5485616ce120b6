"""The student as an ONNX file: tensor names and the metadata it carries (no torch needed).

One graph, ``windows`` (B, T, J, 3) normalised -> ``intent``, ``attitude``, ``action`` logits and
``z``, dynamic batch. Two named tensors inside it split it in the two halves the runtime's
cached forward runs separately (``socialego_core.onnx_predictor``):

- per frame: ``frames`` (N, J, 3) -> ``frame_projection`` (N, 1 + 8H [+ K]): the GAT embedding
  projected to [frame-attention logit, forward LSTM input gates, backward LSTM input gates],
  followed, for a student with a mean-pose head, by that head's K logits of the frame;
- per window: ``window_projection`` (B, T, 1 + 8H [+ K]) -> the logits (the Bi-LSTM
  recurrence, attention pooling, MLP and chain classifier, fused with the mean-pose head's
  logits averaged over the window).

The artifact's metadata (the ``.pt`` file's, unchanged: layout, joints, window spec with its
normalisation, label tables, calibration, version) travels in the model's ``metadata_props``:
all of it as JSON under ``socialego.metadata``, and the main facts also as their own keys for
tools that read ONNX metadata (``layout``, ``joints``, ``window``, ``normalisation``, ``labels``,
``calibration``, ``version``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

ONNX_FORMAT = "socialego-model-onnx"
ONNX_FORMAT_VERSION = 1
OPSET = 17

WINDOWS = "windows"
FRAMES = "frames"
FRAME_PROJECTION = "frame_projection"
WINDOW_PROJECTION = "window_projection"
LOGITS = ("intent", "attitude", "action")
# "int8": the LSTM recurrence's products in int8 (QuantizeLinear + ONNX Runtime's com.microsoft
# MatMulIntegerToFloat); "none": every product in float32
QUANTIZE = ("none", "int8")
Z = "z"

KEY_FORMAT = "socialego.format"
KEY_FORMAT_VERSION = "socialego.format_version"
KEY_METADATA = "socialego.metadata"
KEY_QUANTIZE = "socialego.quantize"


def metadata_props(metadata: Mapping[str, Any], quantize: str = "none") -> dict[str, str]:
    """The ONNX ``metadata_props`` (str -> str) that carry an artifact's ``metadata`` and how
    the graph was quantised (``QUANTIZE``)."""
    spec = metadata["window_spec"]
    facts = {
        "layout": spec.get("layout"),
        "joints": spec.get("joints"),
        "window": {k: spec.get(k) for k in ("length", "stride", "source_fps")},
        "normalisation": spec.get("normalisation"),
        "labels": metadata["labels"],
        "calibration": metadata.get("calibration"),
    }
    props = {key: json.dumps(value) for key, value in facts.items()}
    props["version"] = str(metadata["version"])
    props[KEY_FORMAT] = ONNX_FORMAT
    props[KEY_FORMAT_VERSION] = str(ONNX_FORMAT_VERSION)
    props[KEY_METADATA] = json.dumps(dict(metadata), sort_keys=True)
    props[KEY_QUANTIZE] = quantize
    return props


def read_quantize(props: Mapping[str, str], path: str = "<onnx>") -> str:
    """How the graph was quantised ("none" for files written before the key existed)."""
    quantize = props.get(KEY_QUANTIZE, "none")
    if quantize not in QUANTIZE:
        raise ValueError(
            f"{path}: metadata {KEY_QUANTIZE!r} is {quantize!r}; known: {', '.join(QUANTIZE)}"
        )
    return quantize


def read_metadata(props: Mapping[str, str], path: str = "<onnx>") -> dict[str, Any]:
    """The artifact metadata back from ``metadata_props``; ValueError naming the problem."""
    if props.get(KEY_FORMAT) != ONNX_FORMAT:
        raise ValueError(
            f"{path} is not a SocialEgo ONNX model (metadata {KEY_FORMAT!r} is "
            f"{props.get(KEY_FORMAT)!r}, expected {ONNX_FORMAT!r}); export one with "
            "'socialego-train export --format onnx'"
        )
    if props.get(KEY_FORMAT_VERSION) != str(ONNX_FORMAT_VERSION):
        raise ValueError(
            f"{path}: ONNX format version {props.get(KEY_FORMAT_VERSION)!r} is not supported "
            f"(this code reads {ONNX_FORMAT_VERSION})"
        )
    try:
        metadata = json.loads(props[KEY_METADATA])
    except (KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: metadata {KEY_METADATA!r} missing or not JSON: {exc}") from exc
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: metadata {KEY_METADATA!r} is not a JSON object")
    for key in ("model", "model_kwargs", "window_spec", "labels", "version"):
        if key not in metadata:
            raise ValueError(f"{path}: model metadata lacks {key!r}")
    return metadata
