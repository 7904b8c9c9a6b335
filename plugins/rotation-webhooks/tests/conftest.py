"""The fixtures of rotation-domain's plugin test toolkit."""

pytest_plugins = ["rotation_domain.testing"]
