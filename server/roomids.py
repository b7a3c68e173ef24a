"""A live room's id names the replica and the process that hold it, so that a viewer is sent
there by the id alone: `<replica>-p<process>-<random>`, each part present only when there is
one to name (behind a proxy, deploy/haproxy.cfg; with `--processes`, server/balancer.py).
Kept free of heavy imports: the accepting process of `--processes` reads ids too."""

from __future__ import annotations

import os
import re
import secrets

# Set by `--processes` for each serving process: `p0`, `p1`, … (server/balancer.py).
PROCESS_TAG_ENV = "NETPLAY_PROCESS_TAG"
_PROCESS = re.compile(r"p(\d+)-")


def new_room_id(replica_name: str) -> str:
    names = (replica_name, os.environ.get(PROCESS_TAG_ENV, ""))
    return "".join(f"{n}-" for n in names if n) + secrets.token_urlsafe(9)


def room_process(room_id: str, replica_name: str) -> int | None:
    """The number of the process that holds the room `room_id`, or None when the id names
    none."""
    tag = _PROCESS.match(room_id.removeprefix(f"{replica_name}-" if replica_name else ""))
    return int(tag.group(1)) if tag else None
