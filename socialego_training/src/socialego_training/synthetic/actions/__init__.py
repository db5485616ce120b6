"""Procedural scripts of the 10 JPL-Social actions, as seen by a robot standing at the origin.

Each script turns a random draw into a ``BodyPose`` (per-frame controls of one person). Every
action has a characteristic but variable whole-body motion that starts within about the first
second of the track, with a random onset, speed, distance, viewpoint and side. Confusable pairs
are built on purpose (handshake / punch, point / wave, gaze / standing no-response, leave / walk
past): their body motion overlaps, and what tells them apart lies mostly in the face
(expression, talking), the hands (open, fist, pointing finger, held ball or phone) and the gaze.

Modules: ``table`` (action name -> script, ``perform``), ``motion`` (Scene, arm targets, time
profiles), ``builder`` (PoseBuilder), ``staging`` (shared placement, gaze and idle helpers), and
the scripts by class family: ``positive``, ``negative``, ``not_interacting``.
"""

from .builder import PoseBuilder
from .motion import Scene
from .table import ACTION_SCRIPTS, perform

__all__ = ["ACTION_SCRIPTS", "PoseBuilder", "Scene", "perform"]
