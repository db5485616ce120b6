"""The training recipe sized by the data: how many epochs, and how the exported epoch is chosen.

A fixed epoch count trains a small dataset for few optimiser steps (40 epochs of 360 tracks at
batch 96 are 160 steps, too few for the student), so the number of epochs follows an
optimiser-step budget: at least ``epochs``, and as many more as ``min_steps`` needs. On a large
set the budget (750) is already met and nothing changes; below ``SMALL_SET_TRACKS`` training
tracks the budget is 3,000 steps, the cross-entropies are label-smoothed, the student
normalises its input (``input_norm``) and carries a linear mean-pose head (``mean_pose_head``,
the fusion weight of its log-probabilities).

Picking the best epoch on a validation split of a few dozen tracks is noisy (it moves test
accuracy by several points between seeds), so ``select`` chooses how the exported weights are
taken: ``best`` (best mean validation accuracy), ``last`` (the final epoch of the cosine
schedule), ``swa`` (the average of the weights at the end of the last epochs, with BatchNorm
statistics recomputed) or ``auto`` (``best`` when the validation split has at least
``AUTO_BEST_MIN_VALIDATION`` windows, ``swa`` below that).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

SELECTIONS: tuple[str, ...] = ("auto", "best", "last", "swa")
# below this many training tracks a set is small: train_window_hop and mirror "auto" (-1) turn on
SMALL_SET_TRACKS = 1000
SMALL_SET_HOP = 2
SMALL_SET_MIRROR = 0.5
# optimiser-step budget: 750 lies just under the shipped run's 760 steps (its recipe unchanged);
# below SMALL_SET_TRACKS training tracks 3,000 steps, with label smoothing: on 300-track sets
# this raised attitude and action by about 2 points on held-out tracks (docs/training.md)
MIN_STEPS = 750
SMALL_SET_MIN_STEPS = 3000
SMALL_SET_LABEL_SMOOTHING = 0.1
# BatchNorm over the student's input features: on three 300-track sets, +0.9 / +1.1 / +0.5
# points (intent / attitude / action) on held-out tracks on average (docs/training.md)
SMALL_SET_INPUT_NORM = True
# the linear mean-pose head's log-probabilities added to the chain classifier's at weight 1: on
# three 300-track sets, +0.6 / +2.0 / +0.8 points (intent / attitude / action) on held-out
# tracks, and every training seed's model ahead of the linear baseline on every task
# (docs/training.md)
SMALL_SET_MEAN_POSE_FUSION = 1.0


def is_small_set(tracks: int, fine_tuning: bool = False) -> bool:
    """Whether the small-set settings apply (auto): fewer than ``SMALL_SET_TRACKS`` training
    tracks, and not fine-tuning (whose recipe keeps the start model's windows and steps)."""
    return tracks < SMALL_SET_TRACKS and not fine_tuning


def small_set_hop(hop: int, tracks: int, fine_tuning: bool = False) -> int:
    """``train_window_hop``: as given, or for -1 (auto) a window every ``SMALL_SET_HOP`` frames
    below ``SMALL_SET_TRACKS`` training tracks and one window per track from there on (and when
    fine-tuning, where windows the start model never saw pulled it away from what it knew)."""
    if hop >= 0:
        return hop
    return SMALL_SET_HOP if is_small_set(tracks, fine_tuning) else 0


def small_set_mirror(mirror: float, tracks: int, mirrorable: bool) -> float:
    """``mirror``: as given, or for a negative value (auto) ``SMALL_SET_MIRROR`` below
    ``SMALL_SET_TRACKS`` training tracks (when the window's joints can be mirrored), else 0."""
    if mirror >= 0:
        return mirror
    return SMALL_SET_MIRROR if is_small_set(tracks) and mirrorable else 0.0


def small_set_min_steps(min_steps: int, tracks: int, fine_tuning: bool = False) -> int:
    """``min_steps``: as given, or for -1 (auto) ``SMALL_SET_MIN_STEPS`` below
    ``SMALL_SET_TRACKS`` training tracks (not when fine-tuning, whose recipe keeps the start
    model's knowledge with few steps at a low learning rate), else ``MIN_STEPS``."""
    if min_steps >= 0:
        return min_steps
    if min_steps != -1:
        raise ValueError(f"min_steps must be -1 (auto), 0 (off) or more, got {min_steps}")
    return SMALL_SET_MIN_STEPS if is_small_set(tracks, fine_tuning) else MIN_STEPS


def small_set_label_smoothing(smoothing: float, tracks: int, fine_tuning: bool = False) -> float:
    """``label_smoothing``: as given, or for a negative value (auto)
    ``SMALL_SET_LABEL_SMOOTHING`` below ``SMALL_SET_TRACKS`` training tracks (not when
    fine-tuning), else 0."""
    if smoothing >= 0:
        if smoothing >= 1:
            raise ValueError(f"label_smoothing must be below 1, got {smoothing}")
        return smoothing
    return SMALL_SET_LABEL_SMOOTHING if is_small_set(tracks, fine_tuning) else 0.0


def small_set_input_norm(input_norm: int, tracks: int, fine_tuning: bool = False) -> bool:
    """``input_norm``: 0 (off) or 1 (on) as given, or for -1 (auto) ``SMALL_SET_INPUT_NORM``
    below ``SMALL_SET_TRACKS`` training tracks, else off. Fine-tuning keeps the start model's
    architecture, so auto is off there (the caller checks an explicit 1 against the model)."""
    if input_norm not in (-1, 0, 1):
        raise ValueError(f"input_norm must be -1 (auto), 0 (off) or 1 (on), got {input_norm}")
    if input_norm >= 0:
        return bool(input_norm)
    return SMALL_SET_INPUT_NORM if is_small_set(tracks, fine_tuning) else False


def small_set_mean_pose_head(
    fusion: float, tracks: int, fine_tuning: bool = False, corrupted: bool = False
) -> float:
    """``mean_pose_head`` (the fusion weight of the student's linear mean-pose head; 0 = no
    head): as given, or for -1 (auto) ``SMALL_SET_MEAN_POSE_FUSION`` below ``SMALL_SET_TRACKS``
    training tracks, else 0. Fine-tuning keeps the start model's architecture, so auto is off
    there (the caller keeps a head the start model has). Auto is off too when the run trains on
    ``corrupted`` windows (joint or frame rate above 0): the linear model on the mean pose is
    not robust to missing joints and frames (it cost clean-trained students 3-14 points of
    intent with 30 % of the joints missing, docs/training.md), and such a run asks for a
    student that is."""
    if fusion >= 0:
        return float(fusion)
    if fusion != -1:
        raise ValueError(f"mean_pose_head must be -1 (auto), 0 (off) or a weight > 0, got {fusion}")
    if corrupted:
        return 0.0
    return SMALL_SET_MEAN_POSE_FUSION if is_small_set(tracks, fine_tuning) else 0.0


# validation windows from which the best epoch is a trustworthy choice (``select auto``)
AUTO_BEST_MIN_VALIDATION = 200


def steps_per_epoch(n_windows: int, batch_size: int) -> int:
    """Optimiser steps of one epoch (``loop.split_batches``: a final batch of one joins the
    batch before it)."""
    if n_windows < 1:
        raise ValueError("no training windows")
    if batch_size < 2:
        raise ValueError(
            f"batch_size must be at least 2 (BatchNorm normalises over the batch), got {batch_size}"
        )
    full, rest = divmod(n_windows, batch_size)
    return max(1, full + (1 if rest >= 2 else 0))


@dataclass(frozen=True)
class Schedule:
    """The recipe chosen for one dataset (stored in the artifact's ``training.recipe``)."""

    tracks: int
    windows: int
    validation_windows: int
    batch_size: int
    steps_per_epoch: int
    epochs: int
    total_steps: int
    select: str  # best | last | swa (never auto)
    average_from: int  # first epoch (1-based) averaged by swa; 0 otherwise
    reason: str
    window_hop: int = 0  # training windows: one per track (0) or one every window_hop frames
    mirror: float = 0.0  # share of training windows mirrored
    label_smoothing: float = 0.0  # of the three cross-entropies
    input_norm: bool = False  # BatchNorm over the student's input features
    mean_pose_head: float = 0.0  # fusion weight of the linear mean-pose head (0: none)

    def message(self) -> str:
        windows = f"{self.windows} windows"
        if self.window_hop:
            windows += f" (one every {self.window_hop} frames)"
        mirrored = f", {self.mirror:.0%} mirrored" if self.mirror else ""
        smoothed = f", label smoothing {self.label_smoothing:g}" if self.label_smoothing else ""
        normalised = ", input BatchNorm" if self.input_norm else ""
        if self.mean_pose_head:
            normalised += f", mean-pose head (fusion {self.mean_pose_head:g})"
        return (
            f"{self.tracks} tracks, {windows}{mirrored}{smoothed}{normalised}, "
            f"batch {self.batch_size} -> {self.epochs} epochs, {self.total_steps} steps, "
            f"because {self.reason}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def selection(self, epoch: int) -> dict[str, Any]:
        """How the exported weights were chosen, for the artifact's ``training.selection``."""
        if self.select == "swa":
            return {
                "method": "swa",
                "epochs": [self.average_from, self.epochs],
                "how": f"average of the weights after epochs {self.average_from}-{self.epochs} "
                "of the cosine schedule, BatchNorm statistics recomputed on the training windows",
            }
        if self.select == "last":
            return {"method": "last", "epoch": epoch, "how": "final epoch of the schedule"}
        return {
            "method": "best",
            "epoch": epoch,
            "how": f"best mean validation accuracy (ties: lower loss) on "
            f"{self.validation_windows} validation windows",
        }


def plan_schedule(
    tracks: int,
    windows: int,
    validation_windows: int,
    batch_size: int,
    epochs: int,
    min_steps: int,
    select: str = "auto",
    average_share: float = 0.25,
    window_hop: int = 0,
    mirror: float = 0.0,
    label_smoothing: float = 0.0,
    input_norm: bool = False,
    mean_pose_head: float = 0.0,
) -> Schedule:
    """The epochs (at least ``epochs``, more until ``min_steps`` optimiser steps) and the
    selection for a training set of ``windows`` windows."""
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if min_steps < 0:
        raise ValueError(f"min_steps must be 0 (off) or more, got {min_steps}")
    if select not in SELECTIONS:
        raise ValueError(f"select {select!r} is unknown; known: {', '.join(SELECTIONS)}")
    if not 0.0 < average_share <= 1.0:
        raise ValueError(f"average_share must be in (0, 1], got {average_share}")
    per_epoch = steps_per_epoch(windows, batch_size)
    planned = epochs * per_epoch
    if min_steps and planned < min_steps:
        total_epochs = math.ceil(min_steps / per_epoch)
        reason = (
            f"{epochs} epochs of {per_epoch} steps would be only {planned} steps, under the "
            f"budget of min_steps {min_steps}"
        )
    else:
        total_epochs = epochs
        reason = (
            f"{epochs} epochs of {per_epoch} steps ({planned}) meet min_steps {min_steps}"
            if min_steps
            else f"epochs {epochs} as given (min_steps 0: no step budget)"
        )
    chosen = select
    if select == "auto":
        chosen = "best" if validation_windows >= AUTO_BEST_MIN_VALIDATION else "swa"
        compare = ">=" if chosen == "best" else "<"
        reason += (
            f"; select auto -> {chosen} ({validation_windows} validation windows {compare} "
            f"{AUTO_BEST_MIN_VALIDATION})"
        )
    else:
        reason += f"; select {chosen}"
    average_from = 0
    if chosen == "swa":
        averaged = max(1, math.ceil(average_share * total_epochs))
        average_from = total_epochs - averaged + 1
        reason += f" (weights of epochs {average_from}-{total_epochs} averaged)"
    return Schedule(
        tracks=tracks,
        windows=windows,
        validation_windows=validation_windows,
        batch_size=batch_size,
        steps_per_epoch=per_epoch,
        epochs=total_epochs,
        total_steps=total_epochs * per_epoch,
        select=chosen,
        average_from=average_from,
        reason=reason,
        window_hop=window_hop,
        mirror=mirror,
        label_smoothing=label_smoothing,
        input_norm=input_norm,
        mean_pose_head=mean_pose_head,
    )
