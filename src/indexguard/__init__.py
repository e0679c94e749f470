"""indexguard: keep child sexual abuse material links off search indexes and link-sharing sites."""

__version__ = "0.1.0"
