"""socialego_training: offline SocialEgo code (datasets, training, evaluation, export, CLI)."""

__version__ = "0.1.0"
