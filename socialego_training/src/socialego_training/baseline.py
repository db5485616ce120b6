"""Trivial baselines that show the task is not trivial: majority class and a linear model
(multinomial logistic regression) on the mean pose of the window."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from socialego_core.labels import TASKS, LabelTable

from socialego_training.datasets import PoseWindowDataset
from socialego_training.metrics import task_metrics


def mean_pose_features(dataset: PoseWindowDataset) -> np.ndarray:
    """(N, J * 3): the window's (x, y, score) averaged over time."""
    return dataset.windows.mean(dim=1).reshape(len(dataset), -1).numpy()


def mean_pose_classifier(seed: int = 0) -> Pipeline:
    """The linear model on the mean pose (unfitted): standardised features, multinomial
    logistic regression. The baseline and the student's mean-pose head both use it."""
    return make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
    )


def linear_baseline(
    train: PoseWindowDataset, test: PoseWindowDataset, label_table: LabelTable, seed: int = 0
) -> dict[str, Any]:
    x_train, x_test = mean_pose_features(train), mean_pose_features(test)
    y_train = train.labels.numpy()
    predictions = np.zeros((len(test), 3), dtype=np.int64)
    for i, _task in enumerate(TASKS):
        classes = np.unique(y_train[:, i])
        if len(classes) == 1:
            predictions[:, i] = classes[0]
            continue
        clf = mean_pose_classifier(seed).fit(x_train, y_train[:, i])
        predictions[:, i] = clf.predict(x_test)
    return task_metrics(test.labels.numpy(), predictions, label_table)


def majority_baseline(
    train: PoseWindowDataset, test: PoseWindowDataset, label_table: LabelTable
) -> dict[str, Any]:
    y_train = train.labels.numpy()
    majority = [np.bincount(y_train[:, i]).argmax() for i in range(3)]
    predictions = np.tile(np.array(majority), (len(test), 1))
    return task_metrics(test.labels.numpy(), predictions, label_table)
