"""ROS-free bag I/O and scoring, shared by the bag tools, the replay tool and training.

Built on ``rosbags`` (pure Python); the socialego_msgs types are registered at run time from the
``.msg`` files, so nothing here needs a ROS installation. Making bags from datasets and videos
lives in ``socialego_training.bags``; the replay through the running nodes (which does need
rclpy) in ``socialego_inference.bag_replay``.
"""

from .evaluation import BagEvaluation
from .io import BagWriter, bag_custom_data, bag_topics, read_messages, stamp_to_ns
from .report import write_report
from .scoring import score_bag
from .typestore import find_msg_dir, socialego_typestore

__all__ = [
    "BagEvaluation",
    "BagWriter",
    "bag_custom_data",
    "bag_topics",
    "find_msg_dir",
    "read_messages",
    "score_bag",
    "socialego_typestore",
    "stamp_to_ns",
    "write_report",
]
