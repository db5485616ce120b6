"""``socialego-train`` subcommands of the teacher: train-teacher, distill and the robustness
study (``study``).

Runners import the training modules when they run (CLI edge), so ``socialego-train --help``
stays fast.
"""

from __future__ import annotations

import dataclasses

from socialego_training.study_config import StudyConfig

from .common import INTERRUPTED_EXIT, add_config_command, best_summary, run_resumable


def _csv(kind):
    def parse(text: str):
        return tuple(kind(p.strip()) for p in text.split(",") if p.strip())

    return parse


def add_train_teacher(subparsers) -> None:
    from socialego_training.teacher_config import TeacherTrainConfig

    help = "train the SocialC3D teacher (clean input)"
    add_config_command(subparsers, "train-teacher", help, TeacherTrainConfig, run_train_teacher)


def run_train_teacher(args) -> int:
    from socialego_training.config import config_from_args
    from socialego_training.teacher_config import TeacherTrainConfig
    from socialego_training.teacher_train import train_teacher

    cfg = config_from_args(TeacherTrainConfig, args)
    result = run_resumable(train_teacher, cfg)
    if result is None:
        return INTERRUPTED_EXIT
    print(
        best_summary(result) + f"\nteacher: {result.best_path}   log: {result.run_dir / 'log.csv'}"
    )
    return 0


def add_distill(subparsers) -> None:
    from socialego_training.distill import DistillConfig, distill_defaults

    help = "train the student with a frozen teacher (--method none|kd|infonce)"
    p = add_config_command(subparsers, "distill", help, DistillConfig, run_distill)
    p.epilog = f"defaults differing from 'train': {distill_defaults()}"


def run_distill(args) -> int:
    from socialego_training.config import load_yaml, make_config
    from socialego_training.distill import DistillConfig, distill_defaults, run_distillation

    cls = DistillConfig
    values = distill_defaults()  # paper defaults < YAML < flags
    if args.config:
        values.update(load_yaml(args.config))
    for f in dataclasses.fields(cls):
        if getattr(args, f.name, None) is not None:
            values[f.name] = getattr(args, f.name)
    cfg = make_config(cls, values, source=str(args.config or "flags"))
    result = run_resumable(run_distillation, cfg)
    if result is None:
        return INTERRUPTED_EXIT
    print(
        best_summary(result, prefix=f"[{cfg.method}] ") + "\n"
        f"model: {result.best_path}   log: {result.run_dir / 'log.csv'}"
    )
    return 0


def add_study(subparsers) -> None:
    d = StudyConfig()
    p = subparsers.add_parser(
        "study", help="robustness study: student without vs with distillation over corruptions"
    )
    p.add_argument("--out", default=d.out_dir, help=f"output folder (default {d.out_dir})")
    p.add_argument("--data-root", default="", help="dataset root (default: generate synthetic)")
    p.add_argument("--generate", type=int, default=d.generate, help="synthetic tracks to generate")
    p.add_argument("--generate-seed", type=int, default=d.generate_seed)
    p.add_argument("--dataset", default=d.dataset)
    p.add_argument(
        "--settings",
        type=_csv(str),
        default=d.settings,
        help="full,frame30,joint30,both30,frame60,joint60,both60 (any subset)",
    )
    p.add_argument("--seeds", type=_csv(int), default=d.seeds, help="e.g. 0,1,2")
    p.add_argument(
        "--methods",
        type=_csv(str),
        default=d.methods,
        help="arms method[+u][@weight], method none|kd|infonce|mean_teacher; +u: with the "
        "unlabelled tracks; @1: distillation weight 1 (e.g. none,infonce+u@1,mean_teacher+u@1)",
    )
    p.add_argument(
        "--unlabelled",
        default=d.unlabelled,
        help="unlabelled transfer tracks for the '+u' arms (folder of track files or dataset root)",
    )
    p.add_argument(
        "--unlabelled-batch-size",
        type=int,
        default=d.unlabelled_batch_size,
        help="unlabelled windows added to each step (0 = --batch-size)",
    )
    p.add_argument("--teacher", default="", help="use this teacher artifact instead of training")
    p.add_argument("--teacher-size", default=d.teacher_size, help="small | full")
    p.add_argument("--teacher-crop", type=int, default=d.teacher_crop, help="0 = size default")
    p.add_argument("--teacher-streams", default=d.teacher_streams)
    p.add_argument(
        "--teacher-heatmap-frame",
        default=d.teacher_heatmap_frame,
        choices=("person", "part"),
        help="part: face and hands re-centred in their own box; person: one union box (paper)",
    )
    p.add_argument("--teacher-epochs", type=int, default=d.teacher_epochs)
    p.add_argument("--teacher-batch-size", type=int, default=d.teacher_batch_size)
    p.add_argument("--teacher-lr", type=float, default=d.teacher_lr)
    p.add_argument("--student-epochs", type=int, default=d.student_epochs)
    p.add_argument("--warmup-epochs", type=int, default=d.warmup_epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--distill-weight", type=float, default=d.distill_weight)
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument("--device", default=d.device)
    p.add_argument("--latency-runs", type=int, default=d.latency_runs)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_study_cli)


def run_study_cli(args) -> int:
    from socialego_training.study import run_study

    cfg = StudyConfig(
        out_dir=args.out,
        data_root=args.data_root,
        generate=args.generate,
        generate_seed=args.generate_seed,
        dataset=args.dataset,
        settings=tuple(args.settings),
        seeds=tuple(args.seeds),
        methods=tuple(args.methods),
        teacher=args.teacher,
        teacher_size=args.teacher_size,
        teacher_crop=args.teacher_crop,
        teacher_streams=args.teacher_streams,
        teacher_heatmap_frame=args.teacher_heatmap_frame,
        teacher_epochs=args.teacher_epochs,
        teacher_batch_size=args.teacher_batch_size,
        teacher_lr=args.teacher_lr,
        student_epochs=args.student_epochs,
        warmup_epochs=args.warmup_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        distill_weight=args.distill_weight,
        unlabelled=args.unlabelled,
        unlabelled_batch_size=args.unlabelled_batch_size,
        threads=args.threads,
        device=args.device,
        latency_runs=args.latency_runs,
        progress=not args.no_progress,
    )
    run_study(cfg)
    return 0
