"""NetBox configuration for the test server (NETBOX_ROOT/conf/configuration.py): everything
comes from the environment that tests/sot/servers.py starts it with. Loopback only, no outbound
calls (census, release checks), DEBUG off."""

import os

ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECRET_KEY = os.environ["NR_APPLY_SOT_SECRET_KEY"]
API_TOKEN_PEPPERS = {1: os.environ["NR_APPLY_SOT_PEPPER"]}
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["NR_APPLY_SOT_DB_NAME"],
        "USER": os.environ["NR_APPLY_SOT_DB_USER"],
        "PASSWORD": os.environ["NR_APPLY_SOT_DB_PASSWORD"],
        "HOST": "127.0.0.1",
        "PORT": os.environ["NR_APPLY_SOT_DB_PORT"],
        # A connection per request: the tests may swap the database under a running server.
        "CONN_MAX_AGE": 0,
    }
}
_REDIS = {"HOST": "127.0.0.1", "PORT": int(os.environ["NR_APPLY_SOT_REDIS_PORT"]), "USERNAME": "", "PASSWORD": "",
          "SSL": False}
REDIS = {"tasks": {**_REDIS, "DATABASE": 0}, "caching": {**_REDIS, "DATABASE": 1}}
DEBUG = False
CENSUS_REPORTING_ENABLED = False
ISOLATED_DEPLOYMENT = True
RELEASE_CHECK_URL = None
# The whole fabric in a few pages (the SoT inventory plugins read with large pages).
MAX_PAGE_SIZE = 10000
TIME_ZONE = "UTC"
