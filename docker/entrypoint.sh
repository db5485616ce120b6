#!/usr/bin/env bash
# Container entry point: ROS 2 Jazzy + the SocialEgo workspace, then the given command.
set -e
# shellcheck disable=SC1091
source /opt/ros/jazzy/setup.bash
# shellcheck disable=SC1091
source /ws/install/setup.bash
exec "$@"
