"""``IntentListener``: consume SocialEgo's forecasts in any rclpy node with a few lines.

    from socialego_inference.listener import IntentListener

    listener = IntentListener(node, on_appear=..., on_change=..., on_gone=...)

Subscribes ``socialego/model_info`` (latched: reliable, transient local) and
``socialego/intents`` with the QoS of ``socialego_ros.qos``, in the node's namespace; gives label
names, never indices; drops stale, poorly observed, uncertain and old forecasts by the
thresholds of ``socialego_core.consumer.ListenerConfig``; and calls

- ``on_appear(decision)`` when a person gets a usable decision,
- ``on_change(previous, decision)`` when its intent, attitude or action label changes,
- ``on_gone(previous, reason)`` when the person leaves, turns stale or uncertain, or the stream
  stops (reason: left, stale, low_quality, uncertain, undecided, expired);
- ``on_intents(msg)`` / ``on_model(msg)`` (optional) with every SocialIntentArray / ModelInfo as
  it arrives.

``decision`` is a ``socialego_core.consumer.Decision``: ``track_id``, ``intent``, ``attitude``,
``action`` (names), ``probability(task)`` (quality-adjusted), ``input_quality``, ``stamp_s``.
The filtering and diffing are ``socialego_core.consumer.DecisionTracker`` (ROS-free); this class
only turns messages and the node's clock (sim time aware) into its calls.
"""

from __future__ import annotations

from collections.abc import Callable

from rclpy.node import Node
from socialego_core import topics
from socialego_core.consumer import Decision, DecisionEvent, DecisionTracker, ListenerConfig
from socialego_ros.qos import LATCHED, RELIABLE_OUT

from socialego_msgs.msg import ModelInfo, SocialIntentArray

AppearCallback = Callable[[Decision], None]
ChangeCallback = Callable[[Decision, Decision], None]
GoneCallback = Callable[[Decision, str], None]


class IntentListener:
    """Subscriptions of one node to SocialEgo's intents (see the module doc)."""

    def __init__(
        self,
        node: Node,
        *,
        on_appear: AppearCallback | None = None,
        on_change: ChangeCallback | None = None,
        on_gone: GoneCallback | None = None,
        on_intents: Callable[[SocialIntentArray], None] | None = None,
        on_model: Callable[[ModelInfo], None] | None = None,
        config: ListenerConfig | None = None,
        check_period_s: float = 0.25,
    ) -> None:
        self.node = node
        self.tracker = DecisionTracker(config)
        self.on_appear, self.on_change, self.on_gone = on_appear, on_change, on_gone
        self.on_intents = on_intents  # every array as it arrives, before the events
        self.on_model = on_model  # every ModelInfo as it arrives
        self.subscriptions = [
            node.create_subscription(ModelInfo, topics.MODEL_INFO, self._on_info, LATCHED),
            node.create_subscription(
                SocialIntentArray, topics.INTENTS, self._on_intents, RELIABLE_OUT
            ),
        ]
        # the stream may stop: decisions older than max_age_s go even without a new message
        self.timer = node.create_timer(check_period_s, self._on_timer)
        self._last_now: float | None = None
        self._model: ModelInfo | None = None

    # -- state ---------------------------------------------------------------------------------
    @property
    def config(self) -> ListenerConfig:
        return self.tracker.config

    @config.setter
    def config(self, config: ListenerConfig) -> None:
        """New thresholds apply from the next message on."""
        self.tracker.config = config

    @property
    def model(self) -> ModelInfo | None:
        return self._model

    @property
    def decisions(self) -> dict[str, Decision]:
        """The current usable decision of each track, by track id."""
        return dict(self.tracker.current)

    @property
    def entities(self) -> list:
        """Its subscriptions and timer (for a lifecycle node's list of inputs)."""
        return [*self.subscriptions, self.timer]

    def destroy(self) -> None:
        for sub in self.subscriptions:
            self.node.destroy_subscription(sub)
        self.node.destroy_timer(self.timer)
        self.subscriptions = []

    # -- callbacks -----------------------------------------------------------------------------
    def _now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def _on_info(self, msg: ModelInfo) -> None:
        self._model = msg
        self._dispatch(self.tracker.set_model_info(msg))
        if self.on_model is not None:
            self.on_model(msg)

    def _on_intents(self, msg: SocialIntentArray) -> None:
        if self.on_intents is not None:
            self.on_intents(msg)
        self._dispatch(self.tracker.update(msg, self._now()))

    def _on_timer(self) -> None:
        now = self._now()
        if self._last_now is not None and now < self._last_now:
            self._dispatch(self.tracker.reset())  # the clock jumped back (a looping bag)
        self._last_now = now
        self._dispatch(self.tracker.expire(now))

    def _dispatch(self, events: list[DecisionEvent]) -> None:
        for event in events:
            if event.kind == "appeared" and self.on_appear is not None:
                self.on_appear(event.decision)
            elif event.kind == "changed" and self.on_change is not None:
                self.on_change(event.previous, event.decision)
            elif event.kind == "gone" and self.on_gone is not None:
                self.on_gone(event.previous, event.reason)
