"""Settings of the example shop: three databases and one router that places every model.

- ``default`` (PostgreSQL): customers, orders, contrib apps, the router's phase table.
- ``mysql`` (MariaDB): the legacy database whose ``legacy_events`` table is imported.
- ``s2`` (SingleStore): analytics on columnstore, ``catalog.Country`` as a reference table, and
  ``shop.Order`` once it has moved. ``S2_URL`` names a real SingleStore; without it the alias
  points at the emulator ``scripts/demo.py`` starts (``S2_EMULATOR_URL``), or one you started
  yourself with ``python -m s2emulator`` (port 3307).

``CONTRIB_ON_S2=1`` moves the contrib apps to SingleStore reference tables (two settings:
``S2ROUTER["CONTRIB_DATABASE"]`` and their reference storage in the alias's OPTIONS). The
migration kit's and the router's own tables need no setting: their models declare their design.
The demo's databases are named ``s2kit_demo*`` so it never touches the test suite's databases.
"""

import os

import dj_database_url

# dj-database-url knows postgres:// and mysql://; this backend's scheme is registered here.
dj_database_url.register("singlestoredb", "django_singlestore")

PG_URL = os.environ.get("PG_URL", "postgresql://s2kit:s2kit@127.0.0.1:5432/s2kit_demo")
MYSQL_URL = os.environ.get("MYSQL_URL", "mysql://s2kit:s2kit@127.0.0.1:3306/s2kit_demo_legacy")
S2_URL = os.environ.get("S2_URL") or os.environ.get(
    "S2_EMULATOR_URL", "singlestoredb://s2kit:s2kit@127.0.0.1:3307/s2kit_demo_s2"
)
CONTRIB_ON_S2 = os.environ.get("CONTRIB_ON_S2", "") == "1"

DATABASES = {
    "default": dj_database_url.parse(PG_URL),
    "mysql": dj_database_url.parse(MYSQL_URL),
    "s2": dj_database_url.parse(S2_URL),
}
DATABASES["mysql"].setdefault("OPTIONS", {}).setdefault("charset", "utf8mb4")
if CONTRIB_ON_S2:
    # Django's contrib models hold unique keys a sharded table cannot: on SingleStore they are
    # reference tables, which only the alias's storage setting can say (s2router.E013).
    DATABASES["s2"].setdefault("OPTIONS", {})["table_storage_type"] = dict.fromkeys(
        ["admin", "auth", "contenttypes", "sessions"], "ROWSTORE REFERENCE"
    )

DATABASE_ROUTERS = ["s2router.SingleStoreRouter"]
S2ROUTER = {
    "SINGLESTORE": "s2",
    "CONTRIB_DATABASE": "s2" if CONTRIB_ON_S2 else "default",
    "ANALYTICS": ["analytics.PageView", "analytics.Event"],
    "REFERENCE": ["catalog.Country", "shop.Customer"],
    "MIGRATING": {
        "shop.Order": {"source": "default", "phase": "legacy"},
        "analytics.LegacyEvent": {"source": "mysql", "phase": "legacy"},
    },
    # Phase changes made by `manage.py s2_phase` reach every process within this many seconds.
    "PHASE_CACHE_SECONDS": 0.5,
}
# Tenancy (off unless EXAMPLE_TENANTS="acme,globex"): each tenant's analytics live in its own
# SingleStore database; see exampleproject/tenants.py and docs/router.md.
EXAMPLE_TENANTS = [t for t in os.environ.get("EXAMPLE_TENANTS", "").split(",") if t]
if EXAMPLE_TENANTS:
    MULTITENANT_MAPPER_CLASS = "exampleproject.tenants.HostMapper"
    S2ROUTER["TENANCY"] = {"DATABASES": ["s2"], "TENANTS": EXAMPLE_TENANTS}

# Mirror writes that failed (SingleStore down) are retried quickly: 0.5 s doubling up to 5 s
# (defaults: 1 s up to 300 s), so the outage drill (scripts/drills.py) heals in seconds.
MIGRATION_KIT = {"RETRY_BASE_SECONDS": 0.5, "RETRY_MAX_SECONDS": 5.0, "MIRROR_DOWN_SECONDS": 2.0}

INSTALLED_APPS = [
    # First: its makemigrations keeps TableStorage/ShardKey/SortKey inside CreateModel, and its
    # inspectdb writes them back.
    "django_singlestore",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "s2router",
    "migration_kit",
    "catalog",
    "shop",
    "analytics",
]

SECRET_KEY = os.environ.get("SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "exampleproject.urls"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
if EXAMPLE_TENANTS:
    MIDDLEWARE.insert(0, "s2router.middleware.TenantMiddleware")
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.request",
            ]
        },
    }
]
