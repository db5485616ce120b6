"""``socialego-train compare``: new model(s) beside the shipped one and the baselines on the
user's test split; the report says which to deploy and the ``model_path:=`` line."""

from __future__ import annotations

from pathlib import Path


def add_compare(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help="evaluate models beside the shipped one and the baselines; say which to deploy",
    )
    p.add_argument("models", nargs="*", help="model artifacts (.pt) or training run folders")
    p.add_argument("--data-root", required=True, help="JPL-Social-schema dataset root")
    p.add_argument("--split", default="test", help="split to evaluate on (default test)")
    p.add_argument("--train-split", default="train", help="split the baselines are fitted on")
    p.add_argument("--dataset", default=None, help="jpl_social | harper (default: the models')")
    p.add_argument(
        "--shipped",
        default="auto",
        help="the shipped model to compare with (default: the one installed with "
        "socialego_inference; 'none' leaves it out)",
    )
    p.add_argument("--skip-bad", action="store_true", help="skip and list broken files")
    p.add_argument("--out", required=True, help="report folder (compare.md/json/png)")
    p.set_defaults(func=run_compare)


def run_compare(args) -> int:
    from socialego_training.compare import compare_models

    shipped = None if args.shipped == "none" else args.shipped
    report = compare_models(
        args.models,
        args.data_root,
        args.out,
        split=args.split,
        train_split=args.train_split,
        shipped=shipped,
        dataset=args.dataset,
        skip_bad=args.skip_bad,
    )
    print((Path(args.out) / "compare.md").read_text())
    if shipped == "auto" and not any(n == "shipped model" for n in report["models"]):
        print("note: the shipped model was not found (give --shipped PATH to include it)")
    return 0
