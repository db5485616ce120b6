"""ROS-free bag tools: dataset/video -> MCAP bags, and scoring of recorded SocialEgo outputs.

Built on ``rosbags`` (pure Python); the socialego_msgs types are registered at run time from the
``.msg`` files, so nothing here needs a ROS installation. The replay through the running nodes
(which does need rclpy) lives in ``socialego_inference.bag_replay``.
"""

from .convert import split_to_bag, track_id_of, video_to_bag
from .io import BagWriter, bag_topics, read_messages
from .report import write_report
from .scoring import BagEvaluation, score_bag
from .typestore import find_msg_dir, socialego_typestore

__all__ = [
    "BagEvaluation",
    "BagWriter",
    "bag_topics",
    "find_msg_dir",
    "read_messages",
    "score_bag",
    "socialego_typestore",
    "split_to_bag",
    "track_id_of",
    "video_to_bag",
    "write_report",
]
