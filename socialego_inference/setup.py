from glob import glob

from setuptools import find_packages, setup

package_name = "socialego_inference"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/models", glob("models/*.pt") + glob("models/*.onnx")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="SocialEgo developers",
    maintainer_email="socialego@example.com",
    description="SocialEgo intent node, example behaviour node, single-process runner",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "intent_node = socialego_inference.intent_node:main",
            "behaviour_node = socialego_inference.behaviour_node:main",
            "socialego_all = socialego_inference.single_process:main",
            "bag_replay = socialego_inference.bag_replay:main",
            "intent_monitor = socialego_inference.monitor:main",
            "hri_bridge = socialego_inference.hri_bridge:main",
            "annotator_node = socialego_inference.annotator_node:main",
        ],
    },
)
