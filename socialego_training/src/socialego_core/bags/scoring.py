"""Score the SocialEgo outputs recorded in a bag against its ground-truth topic.

Works on bags written by our replay tool and on bags recorded elsewhere with ``ros2 bag record``
of our topics (``/socialego/intents``, ``/socialego/model_info``, ``/socialego/poses``) plus the
ground truth (``/socialego/ground_truth`` and, for camera bags, ``/socialego/ground_truth_poses``),
either in the same bag or in a separate truth bag.

Matching a published forecast to a labelled person, in order:
1. the forecast's track id is a labelled track id (pose bags: the labels' ids are the poses' ids);
2. the pose node's box of that track at that stamp overlaps a labelled box (intersection over
   the smaller box >= ``min_overlap``, one-to-one assignment per image);
3. the track's last match, while that person is still visible;
4. the only labelled person visible at that stamp.
Forecasts that match nobody are counted, never scored.

Per labelled track, the decision of a task is the ``final`` (last known, non-stale preferred) or
``majority`` (most frequent known) published decision; a track with none scores as UNKNOWN (wrong).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix

from socialego_core.labels import TASKS, get_label_table

from .calibration import model_calibration, published_calibration, published_labels
from .evaluation import DECISION_RULES, NOT_INTERACTING, UNKNOWN, BagEvaluation, Forecast
from .io import bag_custom_data, bag_topics
from .matching import associate, match_boxes
from .metrics import task_metrics, timing_summary, track_decision
from .reading import read_outputs, read_truth
from .typestore import ROOT_TOPICS, BagTopics

# A median latency beyond this means the receive clock is not the stamps' clock.
MAX_PLAUSIBLE_LATENCY_MS = 60_000.0


def score_bag(
    outputs_bag: str | Path,
    truth_bag: str | Path | None = None,
    *,
    min_overlap: float = 0.5,
    tolerance_ms: float = 20.0,
    namespace: str = "",
) -> BagEvaluation:
    """Score the forecasts in ``outputs_bag`` against the ground truth (same bag by default).
    ``namespace``: the nodes' namespace when the outputs were recorded (``<ns>/socialego/...``);
    the ground truth is read under that namespace, or at the root when the bag has it there."""
    outputs_bag = Path(outputs_bag)
    truth_bag = Path(truth_bag) if truth_bag is not None else outputs_bag
    names = BagTopics.of(namespace)
    notes: list[str] = []
    truth_topics = bag_topics(truth_bag)
    truth_names = names if names.ground_truth in truth_topics else ROOT_TOPICS
    if truth_names.ground_truth not in truth_topics:
        raise ValueError(
            f"bag {truth_bag} has no {names.ground_truth} topic (topics: {sorted(truth_topics)}); "
            "pass the bag holding the ground truth as the truth bag"
        )
    output_topics = bag_topics(outputs_bag)
    if names.intents not in output_topics:
        raise ValueError(
            f"bag {outputs_bag} has no {names.intents} topic (topics: {sorted(output_topics)}): "
            "nothing to score (recorded in another namespace? pass it)"
        )
    truth, truth_boxes = read_truth(truth_bag, truth_names)
    if not truth:
        raise ValueError(f"bag {truth_bag}: {truth_names.ground_truth} labels nobody")
    dataset = next(iter(truth.values())).dataset or "jpl_social"
    table = get_label_table(dataset)
    defaults = {t: table.labels(t) for t in TASKS}
    forecasts, pose_boxes, latency, model = read_outputs(outputs_bag, defaults, names)
    if not model:
        notes.append(f"no {names.model_info} in the bag: decoded labels with the {dataset} table")
    if (
        outputs_bag != truth_bag
        and names.poses not in output_topics
        and truth_names.poses in truth_topics
    ):
        pose_boxes = read_outputs(truth_bag, defaults, truth_names)[1]
    associate(
        forecasts,
        truth,
        match_boxes(pose_boxes, truth_boxes, min_overlap),
        round(tolerance_ms * 1e6),
    )
    unmatched = sum(1 for f in forecasts if f.truth_id is None)
    if unmatched:
        notes.append(f"{unmatched} of {len(forecasts)} forecasts matched no labelled person")
    by_truth: dict[str, list[Forecast]] = defaultdict(list)
    for forecast in forecasts:
        if forecast.truth_id is not None:
            by_truth[forecast.truth_id].append(forecast)
    ids = sorted(truth)
    window_length = int(model.get("window_length") or 0)
    decisions = {
        rule: {
            task: {i: track_decision(by_truth.get(i, []), task, rule, window_length) for i in ids}
            for task in TASKS
        }
        for rule in DECISION_RULES
    }
    metrics: dict[str, Any] = {
        "tracks": len(ids),
        "tracks_with_forecasts": sum(1 for i in ids if by_truth.get(i)),
        "forecasts": len(forecasts),
        "forecasts_matched": len(forecasts) - unmatched,
        "matched_by": dict(Counter(f.matched_by for f in forecasts if f.truth_id)),
    }
    for rule in DECISION_RULES:
        per_task = {}
        for task in TASKS:
            y_true = [truth[i].labels[task] for i in ids]
            per_task[task] = task_metrics(y_true, [decisions[rule][task][i] for i in ids])
        # attitude without the people who do not interact (the authors' masked metric)
        kept = [i for i in ids if truth[i].labels["attitude"] != NOT_INTERACTING]
        per_task["attitude_masked"] = task_metrics(
            [truth[i].labels["attitude"] for i in kept],
            [decisions[rule]["attitude"][i] for i in kept],
        )
        metrics[rule] = per_task
    # every published (matched, known) decision against the truth of its person
    per_message = {}
    for task in TASKS:
        pairs = [
            (truth[f.truth_id].labels[task], f.decisions[task])
            for f in forecasts
            if f.truth_id is not None and f.decisions[task] is not None
        ]
        per_message[task] = task_metrics([p[0] for p in pairs], [p[1] for p in pairs])  # type: ignore[misc]
    masked = [
        (truth[f.truth_id].labels["attitude"], f.decisions["attitude"])
        for f in forecasts
        if f.truth_id is not None
        and f.decisions["attitude"] is not None
        and truth[f.truth_id].labels["attitude"] != NOT_INTERACTING
    ]
    per_message["attitude_masked"] = task_metrics(
        [p[0] for p in masked],
        [p[1] for p in masked],  # type: ignore[misc]
    )
    metrics["per_message"] = per_message
    calibration, calibration_note = model_calibration(model)
    labels_of = published_labels(model, truth)
    metrics["calibration"] = published_calibration(forecasts, truth, labels_of, calibration)
    metrics["calibration_model"] = calibration_note
    confusion = {}
    for task in TASKS:
        y_true = [truth[i].labels[task] for i in ids]
        y_pred = [decisions["final"][task][i] for i in ids]
        labels = list(model.get(task) or defaults[task])
        labels += sorted({*y_true, *y_pred} - set(labels) - {UNKNOWN})
        if UNKNOWN in y_pred:
            labels.append(UNKNOWN)
        matrix = confusion_matrix(y_true, y_pred, labels=labels)
        confusion[task] = {"labels": labels, "matrix": matrix.tolist()}
    for topic, values in list(latency.items()):
        median = float(np.median(values)) if values else 0.0
        if not -1_000.0 <= median <= MAX_PLAUSIBLE_LATENCY_MS:
            # e.g. `ros2 bag record` without --use-sim-time during a sim-time replay
            del latency[topic]
            notes.append(
                f"{topic}: receive times and header stamps use different clocks (median "
                f"difference {median / 1000:.0f} s); latency not reported. Record replays with "
                "`ros2 bag record --use-sim-time`."
            )
    rate = float(bag_custom_data(outputs_bag).get("socialego.replay_rate", "1") or 1)
    if rate != 1.0:
        # stamps and receive times are in bag (simulated) time: convert to wall time
        latency = {k: [v / rate for v in vals] for k, vals in latency.items()}
        notes.append(f"replayed at {rate}x: latencies converted to wall-clock milliseconds")
    return BagEvaluation(
        truth=truth,
        forecasts=forecasts,
        decisions=decisions,
        metrics=metrics,
        confusion=confusion,
        timing=timing_summary(truth, by_truth),
        latency_ms=latency,
        model=model,
        notes=notes,
    )
