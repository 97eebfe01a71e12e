"""Nautobot configuration for the test server (NAUTOBOT_CONFIG): Nautobot's own settings read
the database and Redis from NAUTOBOT_* variables, which tests/sot/servers.py sets. Loopback
only, no outbound calls (installation metrics), DEBUG off."""

import os

from nautobot.core.settings import *  # noqa: F401,F403  (Nautobot's documented pattern)

ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECRET_KEY = os.environ["NR_APPLY_SOT_SECRET_KEY"]
DEBUG = False
INSTALLATION_METRICS_ENABLED = False
MAX_PAGE_SIZE = 10000
# A connection per request: the tests may swap the database under a running server.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
