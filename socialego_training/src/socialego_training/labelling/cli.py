"""``socialego-label DATASET [--port P] [--split S]``: serve the labelling page until Ctrl+C."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path

from ..data import DatasetError
from .server import LabelApp, make_server
from .store import LabelStore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socialego-label",
        description="Label the person tracks of a dataset (JPL-Social schema) in a local web "
        "page: every answer is saved to its track file at once; a new start resumes.",
    )
    parser.add_argument("dataset", type=Path, help="dataset root (holds <split>/ and videos/)")
    parser.add_argument("--split", default="train", help="split folder to label (default train)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any)")
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--videos", type=Path, default=None, help="default <dataset>/videos")
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        store = LabelStore(args.dataset, args.split, progress=True)
    except DatasetError as exc:
        print(f"socialego-label: cannot label {args.dataset}: {exc}", file=sys.stderr)
        return 2
    app = LabelApp(store, args.videos, store.info.get("fps"))
    try:
        server = make_server(app, args.host, args.port)
    except OSError as exc:
        print(f"socialego-label: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"
    progress = store.progress()
    print(
        f"socialego-label: {store.folder} ({store.dataset} labels): "
        f"{progress['answered']} of {progress['total']} tracks answered\n"
        f"socialego-label: open {url}  (Ctrl+C stops; every answer is already saved)",
        flush=True,
    )
    if args.open:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nsocialego-label: stopped", flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
