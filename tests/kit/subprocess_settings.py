"""Settings for a ``manage.py`` subprocess started by a test: the test's own database names.

pytest-django renames databases (``test_<name><suffix>``) only inside the test process; a
child process gets them through ``S2KIT_DB_<ALIAS>`` environment variables.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

for _alias, _db in DATABASES.items():
    _db["NAME"] = os.environ.get(f"S2KIT_DB_{_alias.upper()}", _db["NAME"])
