"""Adapters: what the rotation_domain core needs from the outside world, chosen by configuration."""
