"""Verify's SQL digests on SingleStore (the emulator, or a real server through S2_TEST_URL).

The float text — shortest decimal in 1e-4 <= |x| < 1e15, bits elsewhere — is proven here on
whatever server ``s2`` is: only the emulator (MariaDB) in this repository's runs.
"""

from __future__ import annotations

import pytest

from tests.kit.test_verify import assert_sql_float_text_is_pythons

pytestmark = [
    pytest.mark.s2,
    pytest.mark.django_db(transaction=True, reset_sequences=True, databases=["s2"]),
]


def test_sql_float_text_equals_pythons_on_singlestore() -> None:
    assert_sql_float_text_is_pythons("s2")
