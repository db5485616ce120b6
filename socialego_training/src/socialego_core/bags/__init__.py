"""ROS-free bag I/O and scoring, shared by the bag tools, the replay tool and training.

Built on ``rosbags`` (pure Python); the socialego_msgs types are registered at run time from the
``.msg`` files, so nothing here needs a ROS installation. Making bags from datasets and videos
lives in ``socialego_training.bags``; the replay through the running nodes (which does need
rclpy) in ``socialego_inference.bag_replay``.

Import what you need from its module (``io``: read and write, ``typestore``, ``messages``,
``scoring`` / ``evaluation`` / ``calibration`` / ``report``): nothing is imported here, so
reading a bag does not load scikit-learn and matplotlib, which only scoring and the report need.
"""
