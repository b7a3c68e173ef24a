"""The `netplay` command line: serve the playground, or train headlessly."""

from __future__ import annotations

import argparse
import json
import sys


def _cmd_run(args: argparse.Namespace) -> int:
    from playground_models.experiment import ConfigError
    from playground_models.headless import run_epochs

    try:
        for record in run_epochs(args.url, args.epochs):
            if args.json:
                print(json.dumps(record, separators=(",", ":")), flush=True)
            else:
                print(_pretty(record), flush=True)
    except ConfigError as err:
        print(f"netplay run: {err}", file=sys.stderr)
        return 2
    return 0


def _pretty(record: dict) -> str:
    return "  ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netplay",
        description="A neural-network playground: train real PyTorch models live in the browser.",
    )
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="train an experiment headlessly and print its metrics")
    run.add_argument("url", help="a share link, or its query/hash part (key=value&...)")
    run.add_argument("--epochs", type=int, default=100, help="epochs to train (default 100)")
    run.add_argument("--json", action="store_true", help="one JSON object per epoch")
    run.set_defaults(func=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["serve", *(argv or [])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
