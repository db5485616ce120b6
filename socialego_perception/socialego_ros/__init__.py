"""socialego_ros: the ROS 2 glue every SocialEgo node shares.

Parameter tables and their validation (``params``, ROS-free), QoS profiles (``qos``), the
lifecycle node base with warnings, diagnostics and live parameter updates (``node``), stamp
conversions (``stamps``) and the nodes' ``main`` (``main``). The one reader of WholeBodyPose
messages is ROS-free and lives in socialego_core.pose_reader (offline tools use it too).
Installed by the socialego_perception package, which every other SocialEgo ROS package depends
on.
"""
