"""socialego_bringup: launch files, the generated YAML of parameter defaults, and the rule by
which launch arguments reach the nodes (``launch_args``)."""
