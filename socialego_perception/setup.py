from setuptools import find_packages, setup

package_name = "socialego_perception"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="SocialEgo developers",
    maintainer_email="socialego@example.com",
    description="Pose estimation with tracking and gaze features for SocialEgo",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "pose_node = socialego_perception.pose_node:main",
            "gaze_node = socialego_perception.gaze_node:main",
        ],
    },
)
