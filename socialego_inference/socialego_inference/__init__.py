"""SocialEgo inference: the intent node (student forward pass per tracked person), an example
behaviour node, and a single-process runner for all nodes."""
