"""The `netplay` command line: serve the playground, or train headlessly."""

from __future__ import annotations

import argparse
import json
import sys


def _cmd_run(args: argparse.Namespace) -> int:
    from playground_models.aelab import headless as ae
    from playground_models.aelab.config import AEConfigError
    from playground_models.experiment import ConfigError
    from playground_models.headless import run_epochs
    from playground_models.paintlab import headless as paint
    from playground_models.paintlab.config import PaintConfigError
    from playground_models.rllab import headless as rl
    from playground_models.rllab.config import RLConfigError
    from playground_models.seqlab.config import SeqConfigError
    from playground_models.seqlab.headless import is_seq_link, run_link

    def warn(message: str) -> None:  # unknown keys: reported, then ignored
        print(f"netplay run: warning: {message}", file=sys.stderr)

    try:
        if is_seq_link(args.url):  # a sequence-lab link: `--steps` updates, a record per 100
            records = run_link(args.url, args.steps, warn)
        elif rl.is_rl_link(args.url):  # an agent-lab link: `--steps` ticks, a record per 1,000
            records = rl.run_link(args.url, args.steps, warn)
        elif paint.is_paint_link(args.url):  # a painting-lab link: `--steps` updates, per 500
            records = paint.run_link(args.url, args.steps, warn)
        elif ae.is_ae_link(args.url):  # an autoencoder-lab link: `--steps` updates, per 500
            records = ae.run_link(args.url, args.steps, warn)
        else:
            records = run_epochs(args.url, args.epochs, warn, grad_norms=args.grad_norms)
        for record in records:
            if args.json:
                print(json.dumps(record, separators=(",", ":")), flush=True)
            else:
                print(_pretty(record), flush=True)
    except (ConfigError, SeqConfigError, RLConfigError, PaintConfigError,
            AEConfigError) as err:
        print(f"netplay run: {err}", file=sys.stderr)
        return 2
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from playground_models.compare import is_compare_url
    from playground_models.experiment import ConfigError
    from playground_models.export import export_script
    from playground_models.urlcodec import parse

    try:
        if is_compare_url(args.url):
            raise ConfigError("runs", "a comparison has several runs: export one run's link "
                              "(`netplay run` of the comparison names them)")
        state = parse(args.url, strict=True)
        for message in state.warnings:
            print(f"netplay export: warning: {message}", file=sys.stderr)
        script = export_script(state.run_start(), args.epochs, state.history)
    except ConfigError as err:
        print(f"netplay export: {err}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(script)
    else:
        sys.stdout.write(script)
    return 0


def _pretty(record: dict) -> str:
    return "  ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    from server.app import serve

    return serve(args)


def _cmd_summary(args: argparse.Namespace) -> int:
    from playground_models.imagelab.summary import cli_summary

    return cli_summary(args)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from playground_models.sweep import cli_sweep

    return cli_sweep(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netplay",
        description="A neural-network playground: train real PyTorch models live in the browser.",
    )
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="serve the playground (default: 127.0.0.1:8000)")
    serve.add_argument(
        "--host", default="127.0.0.1",
        help="interface to listen on (default 127.0.0.1; 0.0.0.0 or :: for all, which also "
        "allows this machine's hostname as a Host, see --allowed-hosts)",
    )
    serve.add_argument("--port", type=int, default=8000, help="port to listen on, 1-65535")
    serve.add_argument("--open", action="store_true", help="open the page in a browser")
    serve.add_argument(
        "--processes", type=int, default=1,
        help="server processes, 1-256; each holds its own sessions, and --max-sessions and "
        "--lab-max-sessions count those of all of them (default 1; "
        "a classroom on a many-core machine wants about one per core)",
    )
    from server.settings import add_flags

    add_flags(serve)
    serve.set_defaults(func=_cmd_serve)

    run = sub.add_parser("run", help="train an experiment headlessly and print its metrics")
    run.add_argument("url", help="a share link, or its query/hash part (key=value&...)")
    run.add_argument("--epochs", type=int, default=100, help="epochs to train (default 100)")
    run.add_argument(
        "--steps", type=int, default=1000,
        help="a sequence-lab link (/seq?...): updates to train, a record every 100; an agent-lab "
        "link (/rl?...): ticks to run, a record every 1,000; a painting-lab link (/paint?...): "
        "updates to train, a record every 500; an autoencoder-lab link (/ae?...): the same "
        "(default 1000)",
    )
    run.add_argument("--json", action="store_true", help="one JSON object per epoch")
    run.add_argument(
        "--grad-norms", action="store_true", help="add each weight matrix's gradient norm"
    )
    run.set_defaults(func=_cmd_run)

    export = sub.add_parser(
        "export", help="write an experiment as a PyTorch script that trains it to the same numbers"
    )
    export.add_argument("url", help="a share link, or its query/hash part (key=value&...)")
    export.add_argument("--epochs", type=int, default=100, help="epochs the script trains (default 100)")
    export.add_argument("-o", "--output", help="the file to write (default: standard output)")
    export.set_defaults(func=_cmd_export)

    summary = sub.add_parser("summary", help="layer table of an image-lab network")
    summary.add_argument("url", nargs="?", help="an image-lab share link or query")
    summary.add_argument("--preset", help="a preset network by name, e.g. lenet5")
    summary.add_argument("--json", action="store_true", help="print JSON")
    summary.set_defaults(func=_cmd_summary)

    sweep = sub.add_parser("sweep", help="train one experiment over a range of one parameter")
    sweep.add_argument("url", help="a share link, or its query/hash part")
    sweep.add_argument("--param", required=True, help="the parameter to vary")
    sweep.add_argument("--values", required=True, help="comma-separated values")
    sweep.add_argument("--epochs", type=int, default=300, help="epochs per value")
    sweep.add_argument("--json", action="store_true", help="one JSON object per value")
    sweep.set_defaults(func=_cmd_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    from server.memory import big_blocks_in_huge_pages

    big_blocks_in_huge_pages()  # before torch allocates anything
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    # `netplay` alone, or with serve's flags only (`netplay --port 8080`), serves.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["serve", *argv]
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
