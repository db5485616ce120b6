"""Engine results -> SocialIntentArray messages (array fields filled from bytes, not numpy)."""

from __future__ import annotations

import array

import numpy as np
from builtin_interfaces.msg import Time
from socialego_core.hysteresis import UNKNOWN_DECISION
from socialego_core.intent_engine import TickResult
from socialego_core.labels import TASKS
from socialego_core.predictor_base import PredictorBase
from socialego_ros.stamps import duration_msg, time_msg

from socialego_msgs.msg import SocialIntent, SocialIntentArray

PROBABILITY_FIELDS = {
    "intent": "intent_probabilities",
    "attitude": "attitude_probabilities",
    "action": "action_probabilities",
}


def not_after(stamp: Time, now: Time) -> Time:
    """``stamp``, or ``now`` if the stamp is later (outputs are never stamped in the future)."""
    return now if (stamp.sec, stamp.nanosec) > (now.sec, now.nanosec) else stamp


class IntentMessageBuilder:
    """Builds the intent messages of one model (its labels, window and version are constant)."""

    def __init__(self, predictor: PredictorBase) -> None:
        self.version = predictor.version
        self.action_labels = list(predictor.labels.action)
        self.observation_window = duration_msg(predictor.window_spec.duration_s)

    def array(self, result: TickResult, now: Time) -> SocialIntentArray:
        """One SocialIntentArray per tick; its header is the newest intent's header (the input
        it came from), or ``now`` for a heartbeat without tracks. No header is ever later than
        ``now`` (a pose stamped in the future gives ``now``)."""
        out = SocialIntentArray()
        if result.intents is None:
            newest = result.newest_stamp
            out.header.stamp = now if newest is None else not_after(time_msg(newest), now)
            return out
        out.intents = self.intents(result, now)
        newest = max(
            range(len(out.intents)),
            key=lambda i: (out.intents[i].header.stamp.sec, out.intents[i].header.stamp.nanosec),
        )
        out.header.stamp = out.intents[newest].header.stamp
        out.header.frame_id = out.intents[newest].header.frame_id
        return out

    def intents(self, result: TickResult, now: Time) -> list[SocialIntent]:
        """One SocialIntent per track, each with the header of that track's newest pose."""
        batch = result.intents
        blobs = {}
        for task in TASKS:
            values = np.ascontiguousarray(batch.probabilities[task], dtype=np.float32)
            blobs[task] = (values.tobytes(), values.shape[1] * 4)
        intent, attitude, action = (batch.decisions[task].tolist() for task in TASKS)
        stamps = batch.newest_stamp.tolist()
        frames_used = batch.frames_used.tolist()
        quality = batch.input_quality.tolist()
        stale = batch.stale.tolist()
        labels = self.action_labels
        msgs = []
        for i, (tid, person, source) in enumerate(
            zip(batch.track_ids, batch.person_ids, batch.sources)
        ):
            msg = SocialIntent()
            if source is not None:  # the header of the track's newest pose: exact stamp
                msg.header.stamp = not_after(source.stamp, now)
                msg.header.frame_id = source.frame_id
            else:
                msg.header.stamp = not_after(time_msg(stamps[i]), now)
            msg.track_id = tid
            msg.person_id = person
            msg.intent = intent[i] + 1
            msg.attitude = attitude[i] + 1
            msg.action = action[i] + 1
            msg.action_label = labels[action[i]] if action[i] != UNKNOWN_DECISION else ""
            for task, field in PROBABILITY_FIELDS.items():
                blob, width = blobs[task]
                values = array.array("f")
                values.frombytes(blob[i * width : (i + 1) * width])
                setattr(msg, field, values)
            msg.observation_window = self.observation_window
            msg.frames_used = frames_used[i]
            msg.input_quality = quality[i]
            msg.stale = stale[i]
            msg.model_version = self.version
            msgs.append(msg)
        return msgs
