from glob import glob

from setuptools import setup

package_name = "socialego_bringup"

setup(
    name=package_name,
    version="0.1.0",
    packages=[package_name],
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*.launch.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml") + glob("config/*.rviz")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="SocialEgo developers",
    maintainer_email="socialego@example.com",
    description="SocialEgo launch files and parameter defaults",
    license="Apache-2.0",
)
