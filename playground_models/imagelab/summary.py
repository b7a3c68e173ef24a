"""The layer table, as Keras's `model.summary()` prints it: `netplay summary`."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from typing import Any

from .config import LabConfig, LabConfigError, parse_query
from .layers import LayerInfo, SpecError, analyze, fits, parse_net, shape_text, total_params
from .presets import preset_net

DATA_SHAPES = {"digits": (1, 8, 8), "synth": (1, 28, 28), "mnist": (1, 28, 28),
               "shapes": (3, 32, 32), "cifar10": (3, 32, 32)}


def summarize(net: str, data: str = "digits") -> dict[str, Any]:
    """The JSON summary of a layer string on a data set: every layer, the total, the errors.

    Raises `SpecError` when the string cannot be read at all.
    """
    infos = analyze(parse_net(net), DATA_SHAPES.get(data, (1, 28, 28)))
    return {
        "net": parse_net(net).text,
        "data": data,
        "layers": [i.to_json() for i in infos],
        "total_params": total_params(infos),
        "fits": fits(infos),
        "errors": [f"layer {i.index} ({i.token}): {i.error}" for i in infos if i.error],
    }


def _how(info: LayerInfo) -> str:
    """The last column: why the layer does not fit, what is unknown, or how its numbers come."""
    if info.error:
        return f"ERROR: {info.error}"
    if info.params is None or not info.output_shape:
        return info.note or ""
    return (info.formula if info.params else info.shape_formula) or ""


def table(infos: list[LayerInfo]) -> str:
    """A Keras-like text table: layer, output shape, parameters, formula."""
    rows = [("#", "Layer", "Output shape", "Param #", "How")]
    for i in infos:
        shape = shape_text(i.output_shape) if i.output_shape else "?"
        count = "?" if i.params is None else f"{i.params:,}"
        rows.append((str(i.index), i.token, shape, count, _how(i)))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    rule = "─" * (sum(widths) + 3 * 4 + 24)
    lines = [rule]
    for n, row in enumerate(rows):
        cells = [
            row[0].rjust(widths[0]),
            row[1].ljust(widths[1]),
            row[2].ljust(widths[2]),
            row[3].rjust(widths[3]),
            row[4],
        ]
        lines.append("   ".join(cells).rstrip())
        if n == 0:
            lines.append(rule.replace("─", "═"))
    lines.append(rule)
    total = total_params(infos)
    lines.append(f"Total params: {'unknown' if total is None else f'{total:,}'}")
    return "\n".join(lines)


def _config_from(args: Namespace) -> LabConfig:
    if getattr(args, "url", None):
        config, warnings = parse_query(args.url)
        for w in warnings:
            print(f"netplay summary: {w}", file=sys.stderr)
    else:
        config = LabConfig()
    if getattr(args, "preset", None):
        config = config.with_changes({"net": preset_net(args.preset)})
    return config


def cli_summary(args: Namespace) -> int:
    """`netplay summary [URL] [--preset NAME] [--json]`. Returns the exit status."""
    try:
        config = _config_from(args)
        result = summarize(config.net, config.data)
    except (LabConfigError, SpecError) as err:
        print(f"netplay summary: {err}", file=sys.stderr)
        return 2
    except KeyError as err:
        print(f"netplay summary: {err.args[0]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        infos = analyze(parse_net(config.net), DATA_SHAPES.get(config.data, (1, 28, 28)))
        print(table(infos))
    return 0 if result["fits"] else 1
