"""SocialEgo perception: pose estimation with tracking (pose node) and gaze features (gaze node).

The node modules are thin rclpy adapters; backends, tracking and image conversions are ROS-free.
"""
