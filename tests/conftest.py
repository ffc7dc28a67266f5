"""Session-wide test wiring: the ``s2`` alias talks to the emulator this plugin starts for the
session, or to the real SingleStore named by ``S2_TEST_URL``."""

pytest_plugins = ["s2emulator.pytest_plugin"]
