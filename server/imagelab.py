"""The image lab's routes: the `/lab` page, its JSON API and the `/ws/lab` live-training socket."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
