"""Settings of the processes under benchmark: the production settings, plus the bench URLconf.

Only bench/ scripts use this module (DJANGO_SETTINGS_MODULE=bench.settings); everything else
comes from the environment the scripts set (bench/common.py, env_for): DEBUG off, a bench
database, static files collected and compressed as in production.
"""

from portal.settings import *  # noqa: F403

# The site's URLs plus the bare view the wrk figures are compared with. Never in production.
ROOT_URLCONF = "bench.urls"
