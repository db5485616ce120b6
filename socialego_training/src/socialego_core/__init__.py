"""socialego_core: the ROS-free core shared by training, tools and the ROS nodes.

Pose layouts, label tables, window construction, corruption, the student model, the model
artifact, and bag I/O and scoring (``socialego_core.bags``) live here, defined once. Nothing in
this package imports rclpy or the training code.
"""

__version__ = "0.1.0"
