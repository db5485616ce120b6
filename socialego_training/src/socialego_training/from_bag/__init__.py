"""Recordings -> datasets: ``socialego-train from-bag`` (docs/own-data.md).

``sources`` (bags, topics, messages), ``people`` (images through the pose node's pipeline, or
recorded poses, both through the one pose reader), ``tracks`` (JPL-Social track records),
``dataset`` (``build_dataset``: splits by recording, dataset.json, resume).
"""
