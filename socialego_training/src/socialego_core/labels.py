"""Label tables: the one definition of class names and orders (method.md section 1).

Ids are list positions. On the wire (socialego_msgs) a decision is ``index + 1`` with 0 = UNKNOWN.
"""

from __future__ import annotations

from dataclasses import dataclass

INTENT_LABELS: tuple[str, ...] = ("Interacting", "Interested", "Not_Interested")
ATTITUDE_LABELS: tuple[str, ...] = ("Positive", "Negative", "Not_Interacting")
# Index of the attitude class that is masked out in the "masked attitude" metric.
ATTITUDE_NOT_INTERACTING = 2

JPL_ACTION_LABELS: tuple[str, ...] = (
    "Handshake",
    "Hug",
    "Pet",
    "Wave",
    "Punch",
    "Throw",
    "Point",
    "Gaze",
    "Leave",
    "No_Response",
)
HARPER_ACTION_LABELS: tuple[str, ...] = ("Crash", "Stop", "Avoid", "Touch", "Kick", "Punch")

TASKS: tuple[str, ...] = ("intent", "attitude", "action")


@dataclass(frozen=True)
class LabelTable:
    """The class names of the three chained tasks for one dataset."""

    dataset: str
    intent: tuple[str, ...] = INTENT_LABELS
    attitude: tuple[str, ...] = ATTITUDE_LABELS
    action: tuple[str, ...] = JPL_ACTION_LABELS

    def labels(self, task: str) -> tuple[str, ...]:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; tasks are {TASKS}")
        return getattr(self, task)

    def num_classes(self, task: str) -> int:
        return len(self.labels(task))

    def to_dict(self) -> dict[str, object]:
        return {"dataset": self.dataset, **{task: list(self.labels(task)) for task in TASKS}}

    @classmethod
    def from_dict(cls, data: dict) -> LabelTable:
        return cls(
            dataset=str(data["dataset"]),
            intent=tuple(data["intent"]),
            attitude=tuple(data["attitude"]),
            action=tuple(data["action"]),
        )


JPL_SOCIAL = LabelTable("jpl_social")
HARPER = LabelTable("harper", action=HARPER_ACTION_LABELS)
LABEL_TABLES: dict[str, LabelTable] = {t.dataset: t for t in (JPL_SOCIAL, HARPER)}

# How JPL-Social actions nest under intent and attitude (method.md section 1). The synthetic
# generator and consistency checks use it.
JPL_ACTION_PARENTS: dict[str, tuple[str, str]] = {
    "Handshake": ("Interacting", "Positive"),
    "Hug": ("Interacting", "Positive"),
    "Pet": ("Interacting", "Positive"),
    "Wave": ("Interacting", "Positive"),
    "Punch": ("Interacting", "Negative"),
    "Throw": ("Interacting", "Negative"),
    "Point": ("Interested", "Not_Interacting"),
    "Gaze": ("Interested", "Not_Interacting"),
    "Leave": ("Not_Interested", "Not_Interacting"),
    "No_Response": ("Not_Interested", "Not_Interacting"),
}
# The nesting of each label table that has one: action name -> (intent name, attitude name).
# HARPER publishes none, so its intent and attitude are never implied by the action.
ACTION_PARENTS: dict[str, dict[str, tuple[str, str]]] = {"jpl_social": JPL_ACTION_PARENTS}
# Track counts per action in JPL-Social (290 tracks): the class imbalance to imitate.
JPL_ACTION_COUNTS: dict[str, int] = {
    "Handshake": 28,
    "Hug": 25,
    "Pet": 12,
    "Wave": 30,
    "Punch": 30,
    "Throw": 31,
    "Point": 23,
    "Gaze": 24,
    "Leave": 17,
    "No_Response": 70,
}


def get_label_table(dataset: str) -> LabelTable:
    """Return the label table of a dataset name; ValueError lists the known names."""
    try:
        return LABEL_TABLES[dataset]
    except KeyError:
        raise ValueError(
            f"unknown dataset {dataset!r}; known label tables: {sorted(LABEL_TABLES)}"
        ) from None


def implied_parents(table: LabelTable, action: int) -> tuple[int, int] | None:
    """(intent id, attitude id) that an action id implies in the table's nesting; None when the
    table defines no nesting. ValueError for an action id outside the table."""
    if not 0 <= action < table.num_classes("action"):
        raise ValueError(
            f"action {action} outside 0..{table.num_classes('action') - 1} ({table.dataset})"
        )
    parents = ACTION_PARENTS.get(table.dataset)
    if parents is None:
        return None
    intent, attitude = parents[table.action[action]]
    return table.intent.index(intent), table.attitude.index(attitude)
