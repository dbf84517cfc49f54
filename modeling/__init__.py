"""Model configuration, backbone, task models and generation."""
