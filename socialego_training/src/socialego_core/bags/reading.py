"""Read the ground truth and the published forecasts out of a bag."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from socialego_core.labels import TASKS

from .evaluation import Boxes, Forecast, TruthTrack
from .io import read_messages, stamp_to_ns
from .typestore import INTENTS_TOPIC, POSES_TOPIC, ROOT_TOPICS, BagTopics


def _boxes(pose_array: Any) -> dict[str, tuple[float, float, float, float]]:
    return {
        p.track_id: (p.bbox_x, p.bbox_y, p.bbox_width, p.bbox_height)
        for p in pose_array.poses
        if p.bbox_width > 0 and p.bbox_height > 0
    }


def read_truth(path: Path, names: BagTopics = ROOT_TOPICS) -> tuple[dict[str, TruthTrack], Boxes]:
    """The labelled people (by track id) and, for camera bags, their boxes per stamp."""
    truth: dict[str, TruthTrack] = {}
    truth_boxes: Boxes = {}
    for item in read_messages(path, [names.ground_truth, names.ground_truth_poses]):
        stamp = stamp_to_ns(item.message.header.stamp)
        if item.topic == names.ground_truth_poses:
            truth_boxes[stamp] = _boxes(item.message)
            continue
        for person in item.message.people:
            track = truth.get(person.track_id)
            if track is None:
                labels = {
                    "intent": person.intent_label,
                    "attitude": person.attitude_label,
                    "action": person.action_label,
                }
                if not all(labels.values()):
                    raise ValueError(
                        f"{path}: ground truth of {person.track_id!r} lacks label names"
                    )
                track = TruthTrack(person.track_id, person.video_name, person.dataset, labels)
                truth[person.track_id] = track
            track.stamps.append(stamp)
    for track in truth.values():
        track.stamps.sort()
    return truth, truth_boxes


def _model_info(message: Any) -> dict[str, Any]:
    return {
        "model_name": message.model_name,
        "model_version": message.model_version,
        "dataset": message.dataset,
        "intent": list(message.intent_labels),
        "attitude": list(message.attitude_labels),
        "action": list(message.action_labels),
        "window_length": int(message.window_length),
        "window_stride": int(message.window_stride),
        "source_fps": float(message.source_fps),
        # the artifact's calibration (None: it has none), to measure before / after
        "calibration": _metadata(message).get("calibration"),
    }


def _metadata(message: Any) -> dict[str, Any]:
    """ModelInfo.metadata_json as a dict; {} when empty or not a JSON object."""
    try:
        data = json.loads(message.metadata_json or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _decode(value: int, labels: list[str] | tuple[str, ...]) -> str | None:
    return labels[value - 1] if 1 <= value <= len(labels) else None


def read_outputs(
    path: Path, default_labels: dict[str, tuple[str, ...]], names: BagTopics = ROOT_TOPICS
) -> tuple[list[Forecast], Boxes, dict[str, list[float]], dict[str, Any]]:
    """Forecasts (sorted by stamp), pose boxes per stamp, latencies per topic (keyed by the
    root-namespace name whatever ``names`` says), model info."""
    intents_raw: list[tuple[int, Any]] = []
    pose_boxes: Boxes = {}
    latency: dict[str, list[float]] = defaultdict(list)
    model: dict[str, Any] = {}
    topics = [names.intents, names.poses, names.model_info]
    for item in read_messages(path, topics):
        if item.topic == names.model_info:
            model = _model_info(item.message)
            continue
        stamp = stamp_to_ns(item.message.header.stamp)
        if item.topic == names.poses:
            pose_boxes[stamp] = _boxes(item.message)
            latency[POSES_TOPIC].append((item.log_time_ns - stamp) / 1e6)
        else:
            intents_raw.append((item.log_time_ns, item.message))
            if item.message.intents:  # empty arrays are heartbeats stamped "now"
                latency[INTENTS_TOPIC].append((item.log_time_ns - stamp) / 1e6)
    labels = {t: tuple(model.get(t) or default_labels[t]) for t in TASKS}
    forecasts = []
    for received, array in intents_raw:
        for intent in array.intents:
            action = intent.action_label or _decode(intent.action, labels["action"])
            forecasts.append(
                Forecast(
                    stamp_ns=stamp_to_ns(intent.header.stamp),
                    received_ns=received,
                    track_id=intent.track_id,
                    decisions={
                        "intent": _decode(intent.intent, labels["intent"]),
                        "attitude": _decode(intent.attitude, labels["attitude"]),
                        "action": action if intent.action else None,
                    },
                    stale=bool(intent.stale),
                    input_quality=float(intent.input_quality),
                    frames_used=int(intent.frames_used),
                    probabilities={
                        t: np.asarray(getattr(intent, f"{t}_probabilities"), dtype=np.float64)
                        for t in TASKS
                    },
                )
            )
    forecasts.sort(key=lambda f: (f.stamp_ns, f.received_ns))
    return forecasts, pose_boxes, dict(latency), model
