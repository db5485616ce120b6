"""Bag making: a labelled dataset split or a video file -> an MCAP bag (``socialego-bag``).

Reading, writing and scoring bags is ROS-free core code: ``socialego_core.bags``.
"""

from .convert import split_to_bag, track_id_of, video_to_bag

__all__ = ["split_to_bag", "track_id_of", "video_to_bag"]
