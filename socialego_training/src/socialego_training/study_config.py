"""Settings of the robustness study (``socialego-train study``); standard library only, so the
CLI builds its parser without importing the training code."""

from __future__ import annotations

from dataclasses import dataclass

UNLABELLED_SUFFIX = "+u"


@dataclass(frozen=True)
class Arm:
    """One study arm, written ``method[+u][@weight]``: ``infonce+u@1`` = InfoNCE distillation
    with the unlabelled transfer set at weight 1.0; without ``@`` the study's distill_weight."""

    name: str
    method: str
    unlabelled: bool
    weight: float | None


def parse_arm(name: str) -> Arm:
    text, _, weight_text = name.partition("@")
    unlabelled = text.endswith(UNLABELLED_SUFFIX)
    method = text[: -len(UNLABELLED_SUFFIX)] if unlabelled else text
    weight = None
    if weight_text:
        try:
            weight = float(weight_text)
        except ValueError:
            raise ValueError(f"study arm {name!r}: the weight after '@' must be a number") from None
    if method == "none" and (unlabelled or weight is not None):
        raise ValueError(f"study arm {name!r}: 'none' takes neither '+u' nor a weight")
    return Arm(name, method, unlabelled, weight)


@dataclass
class StudyConfig:
    out_dir: str = "runs/study"
    data_root: str = ""  # empty: generate a synthetic set into <out>/data
    generate: int = 1500  # tracks to generate when data_root is empty
    generate_seed: int = 0
    dataset: str = "jpl_social"
    settings: tuple[str, ...] = ("full", "both30", "both60")
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = ("none", "infonce")
    teacher: str = ""  # a trained teacher artifact; empty: train one
    teacher_size: str = "small"
    teacher_crop: int = 0
    teacher_streams: str = "rgb,body,face,hand,gaze"
    teacher_heatmap_frame: str = "part"
    teacher_epochs: int = 30
    teacher_batch_size: int = 32
    teacher_lr: float = 0.01
    student_epochs: int = 30
    warmup_epochs: int = 10
    batch_size: int = 96
    lr: float = 0.01
    distill_weight: float = 0.2
    unlabelled: str = ""  # unlabelled transfer tracks for the arms marked "+u"
    unlabelled_batch_size: int = 0  # 0 = batch_size
    eval_seed: int = 1234
    threads: int = 1
    device: str = "cpu"
    progress: bool = True
    latency_runs: int = 50
