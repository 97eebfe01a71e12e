"""gunicorn settings for the SoT test servers (tests/sot/servers.py): the app is loaded once in
the master (--preload) and forked, so a server boots Django once, not once per worker. A forked
worker must not share the master's database or Redis sockets: it drops them, as Nautobot does
for uWSGI (nautobot.core.wsgi)."""

preload_app = True
worker_class = "gthread"
threads = 4
timeout = 300
graceful_timeout = 5
loglevel = "warning"
errorlog = "-"


def post_fork(server, worker):
    from django.core import cache
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        # The socket is the master's too: forget it without saying goodbye on it.
        connection.connection = None
    cache.close_caches()
