"""The student's training settings (``TrainConfig``; method.md section 5 defaults, training
without a teacher) and the per-model window defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from socialego_core.window import WindowSpec

# Settings a resumed run must share with the run that wrote its last.pt.
RESUME_KEYS: tuple[str, ...] = (
    "data_root",
    "model",
    "epochs",
    "batch_size",
    "lr",
    "seed",
    "joint_rate",
    "frame_rate",
    "window_length",
    "joints",
    "dataset",
    "select",
    "init_from",
    "label_smoothing",
    "input_norm",
    "mean_pose_head",
)

MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "SocialEgoMobile": {"length": 10, "joints": tuple(range(17)), "normalisation": "centered"},
    "SocialEgoNet": {"length": 30, "joints": tuple(range(133)), "normalisation": "signed"},
}


@dataclass
class TrainConfig:
    """Student training settings; defaults: method.md section 5, training without a teacher."""

    data_root: str = field(default="", metadata={"help": "JPL-Social-schema dataset root"})
    dataset: str = field(default="jpl_social", metadata={"help": "jpl_social | harper"})
    train_split: str = "train"
    val_split: str = "validation"
    val_fraction: float = field(
        default=0.15, metadata={"help": "share of train held out when val_split is missing"}
    )
    skip_bad: bool = field(default=False, metadata={"help": "skip (and list) broken files"})
    model: str = field(default="SocialEgoMobile", metadata={"help": "SocialEgoMobile|SocialEgoNet"})
    window_length: int | None = field(default=None, metadata={"help": "T (model default)"})
    window_stride: int = 1
    train_window_hop: int = field(
        default=-1,
        metadata={
            "help": "training windows: 0 = one per track (from its first frame), H = one "
            "every H frames of each track; -1 = auto (2 below 1000 training tracks, else 0); "
            "validation and test keep one per track"
        },
    )
    joints: tuple[int, ...] | None = field(
        default=None, metadata={"help": "joint indices, e.g. 0-16 (model default)"}
    )
    normalisation: str | None = field(default=None, metadata={"help": "centered | signed"})
    source_fps: float | None = field(
        default=None, metadata={"help": "frame rate of the data (default: dataset.json fps or 30)"}
    )
    epochs: int = field(
        default=40, metadata={"help": "epochs (at least; more on small sets, see min_steps)"}
    )
    min_steps: int = field(
        default=-1,
        metadata={
            "help": "optimiser-step budget: epochs grow until epochs x steps per epoch reaches "
            "it (small datasets); 0 = exactly --epochs; -1 = auto (3000 below 1000 training "
            "tracks, else 750; 750 when fine-tuning)"
        },
    )
    select: str = field(
        default="auto",
        metadata={
            "help": "exported weights: best (validation) | last (final epoch) | swa (average of "
            "the last epochs) | auto (best with >= 200 validation windows, else swa)"
        },
    )
    average_share: float = field(
        default=0.25, metadata={"help": "swa: share of the last epochs whose weights are averaged"}
    )
    patience: int = field(
        default=0,
        metadata={"help": "early stopping (select best): epochs without a better one; 0 = off"},
    )
    init_from: str = field(
        default="", metadata={"help": "fine-tune from this model artifact (.pt)"}
    )
    init_lr_scale: float = field(
        default=0.03,
        metadata={"help": "with --init-from the learning rate is lr x this (keeps what it knows)"},
    )
    label_smoothing: float = field(
        default=-1.0,
        metadata={
            "help": "label smoothing of the three cross-entropies; -1 = auto (0.1 below 1000 "
            "training tracks, else 0; 0 when fine-tuning)"
        },
    )
    input_norm: int = field(
        default=-1,
        metadata={
            "help": "BatchNorm over the student's input features (each joint's x, y, score) "
            "before the GAT: 1 on, 0 off, -1 = auto (on below 1000 training tracks; "
            "fine-tuning keeps the start model's)"
        },
    )
    mean_pose_head: float = field(
        default=-1.0,
        metadata={
            "help": "the student's linear mean-pose head (the linear baseline's model, fitted on "
            "each training track's first window), its log-probabilities added to the chain "
            "classifier's at this weight in eval mode: 0 = no head, -1 = auto (1 below 1000 "
            "training tracks and clean training windows; fine-tuning keeps the start model's)"
        },
    )
    batch_size: int = 96
    lr: float = 0.01
    weight_decay: float = 0.0
    joint_rate: float = field(default=0.0, metadata={"help": "joint corruption rate"})
    frame_rate: float = field(default=0.0, metadata={"help": "frame corruption rate"})
    corruption_warmup_epochs: int = field(
        default=0, metadata={"help": "linear ramp of the corruption rates (epochs)"}
    )
    score_augment: float = field(
        default=0.0,
        metadata={
            "help": "share of training windows whose keypoint scores are re-calibrated "
            "(robustness to another pose estimator's confidences)"
        },
    )
    mirror: float = field(
        default=-1.0,
        metadata={
            "help": "share of training windows mirrored left-right (labels kept); -1 = auto "
            "(0.5 below 1000 training tracks, else 0)"
        },
    )
    recompute_bn: bool = field(
        default=True,
        metadata={
            "help": "recompute BatchNorm statistics over the training windows before each "
            "validation and export (the running averages lag the weights at Adam lr 0.01)"
        },
    )
    calibration: str = field(
        default="temperature",
        metadata={
            "help": "probability calibration fitted on the validation split after training and "
            "stored in best.pt: temperature | vector | isotonic | none"
        },
    )
    eval_corruption_seed: int = 1234
    seed: int = 0
    device: str = field(default="auto", metadata={"help": "auto | cpu | cuda[:N]"})
    threads: int = field(
        default=1,
        metadata={"help": "torch CPU threads (0 = torch default; 1 is fastest on a busy CPU)"},
    )
    out_dir: str = "runs/student"
    checkpoint_every: int = field(default=20, metadata={"help": "steps between resume points"})
    resume: bool = field(default=True, metadata={"help": "resume from out_dir/last.pt"})
    progress: bool = True
    max_steps: int = field(
        default=0, metadata={"help": "stop after this many steps, without saving (kill test)"}
    )

    def window_spec(self, dataset_fps: float | None = None) -> WindowSpec:
        if self.model not in MODEL_DEFAULTS:
            raise ValueError(f"unknown model {self.model!r}; known: {sorted(MODEL_DEFAULTS)}")
        defaults = MODEL_DEFAULTS[self.model]
        return WindowSpec(
            length=self.window_length or defaults["length"],
            stride=self.window_stride,
            joints=tuple(self.joints) if self.joints else defaults["joints"],
            normalisation=self.normalisation or defaults["normalisation"],
            source_fps=float(self.source_fps or dataset_fps or 30.0),
        )
