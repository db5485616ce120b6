"""The action table: JPL-Social action name -> its script, and ``perform`` (one script run)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..body import BodyPose
from .builder import PoseBuilder
from .motion import Scene
from .negative import punch, throw
from .not_interacting import gaze, leave, no_response, point
from .positive import handshake, hug, pet, wave

ACTION_SCRIPTS: dict[str, Callable[[Scene, PoseBuilder], None]] = {
    "Handshake": handshake,
    "Hug": hug,
    "Pet": pet,
    "Wave": wave,
    "Punch": punch,
    "Throw": throw,
    "Point": point,
    "Gaze": gaze,
    "Leave": leave,
    "No_Response": no_response,
}


def perform(action: str, scene: Scene) -> BodyPose:
    """Run one action script on a fresh builder and return the per-frame controls."""
    if action not in ACTION_SCRIPTS:
        raise ValueError(f"unknown action {action!r}; known: {sorted(ACTION_SCRIPTS)}")
    builder = PoseBuilder(scene, np.array([0.0, 2.5]), np.pi)
    ACTION_SCRIPTS[action](scene, builder)
    return builder.build()
