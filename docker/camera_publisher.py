"""A minimal camera driver for the container: frames from a V4L2 device (or a video file) with
OpenCV, published as sensor_msgs/Image (bgr8) on ``image`` (remap with ``--ros-args -r``).

The image has no ROS apt packages (no v4l2_camera); OpenCV is already there for MediaPipe.
    python camera_publisher.py /dev/video0 --size 640x480 --fps 30 \
        --ros-args -r image:=/camera/image_raw
"""

from __future__ import annotations

import argparse
import sys

import cv2
import rclpy
from rclpy.node import Node
from rclpy.utilities import remove_ros_args
from sensor_msgs.msg import Image
from socialego_core.topics import IMAGE
from socialego_ros.qos import RELIABLE_OUT


def parse_size(text: str) -> tuple[int, int]:
    """``640x480`` -> (640, 480); a clear error otherwise."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size must be WIDTHxHEIGHT, got {text!r}") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"--size must be positive, got {text!r}")
    return width, height


class CameraPublisher(Node):
    def __init__(self, capture: cv2.VideoCapture, fps: float, frame_id: str, loop: bool) -> None:
        super().__init__("socialego_camera")
        self.capture, self.frame_id, self.loop = capture, frame_id, loop
        # reliable: matches the pose node's subscription whichever reliability it is set to
        self.publisher = self.create_publisher(Image, IMAGE, RELIABLE_OUT)
        self.timer = self.create_timer(1.0 / fps, self.grab)
        self.failures = 0

    def grab(self) -> None:
        ok, frame = self.capture.read()
        if not ok and self.loop:  # a video file: start again
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.capture.read()
        if not ok:
            self.failures += 1
            if self.failures >= 30:
                raise RuntimeError("the camera delivered no frame 30 times in a row")
            return
        self.failures = 0
        msg = Image()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.frame_id
        msg.height, msg.width = frame.shape[:2]
        msg.encoding, msg.step = "bgr8", frame.shape[1] * 3
        msg.data = frame.tobytes()
        self.publisher.publish(msg)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("device", help="V4L2 device (/dev/video0) or a video file")
    parser.add_argument("--size", type=parse_size, default=(640, 480), help="WIDTHxHEIGHT")
    parser.add_argument("--fps", type=float, default=30.0, help="publishing rate")
    parser.add_argument("--frame-id", default="camera", help="header.frame_id")
    args = parser.parse_args(remove_ros_args(argv)[1:])
    if args.fps <= 0:
        parser.error(f"--fps must be positive, got {args.fps}")
    is_device = args.device.startswith("/dev/")
    capture = cv2.VideoCapture(args.device, cv2.CAP_V4L2 if is_device else cv2.CAP_ANY)
    if not capture.isOpened():
        print(f"camera_publisher: cannot open {args.device}", file=sys.stderr)
        return 1
    if is_device:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, args.size[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, args.size[1])
    rclpy.init(args=argv)
    node = CameraPublisher(capture, args.fps, args.frame_id, loop=not is_device)
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        capture.release()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
