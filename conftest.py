"""Root conftest: the shared infrastructure fixture for every test in the workspace."""

pytest_plugins = ["wiser_servicekit.testing"]
