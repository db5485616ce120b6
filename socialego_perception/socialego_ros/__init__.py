"""socialego_ros: the ROS 2 glue every SocialEgo node shares.

Parameter tables and their validation (``params``, ROS-free), QoS profiles (``qos``), the
lifecycle node base with warnings, diagnostics and live parameter updates (``node``), the one
reader of WholeBodyPose messages (``pose_reader``, ROS-free), stamp conversions (``stamps``) and
the nodes' ``main`` (``main``). Installed by the socialego_perception package, which every other
SocialEgo ROS package depends on.
"""
