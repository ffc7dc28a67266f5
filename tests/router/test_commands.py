"""``s2_phase``, ``s2_tenants`` and the ``--tenant``/``--all-tenants`` helper, via call_command."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from s2router import phases
from s2router.commands import selected_tenants
from s2router.conf import Phase
from tests.router.configs import ROUTERS, router_settings
from tests.router.routerapp.models import Order

pytestmark = [
    pytest.mark.django_db(databases=["default"]),
    pytest.mark.usefixtures("only_our_guards"),
]


def run(*args: str) -> tuple[dict, str]:
    out, err = StringIO(), StringIO()
    call_command("s2_phase", *args, "--format", "json", stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def test_list_shows_every_migrating_model(s2router_settings):
    payload, _ = run()
    assert payload["models"] == [
        {
            "model": "routerapp.order",
            "phase": "legacy",
            "source": "default",
            "reads": "default",
            "writes": "default",
            "mirror": None,
        }
    ]


def test_move_one_step(s2router_settings):
    payload, err = run("routerapp.Order", "dual_write", "--note", "ticket 42")
    assert (payload["from"], payload["to"], payload["changed"]) == ("legacy", "dual_write", True)
    assert payload["models"][0]["mirror"] == "s2"
    assert "moved dual_write" in err
    assert phases.get_phase(Order) is Phase.DUAL_WRITE


def test_refused_transition_exits_1_with_reasons_on_stdout(s2router_settings):
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("s2_phase", "routerapp.Order", "cutover", "--format", "json", stdout=out)
    assert info.value.returncode == 1
    payload = json.loads(out.getvalue())
    assert payload["changed"] is False
    assert "not a legal move" in payload["refused"][0]
    assert phases.get_phase(Order) is Phase.LEGACY


def test_force(s2router_settings):
    payload, _ = run("routerapp.Order", "cutover", "--force")
    assert payload["forced"] is True and payload["overridden"]


@pytest.mark.parametrize(
    "args",
    [
        ("nosuch.Model", "shadow"),
        ("routerapp.Customer", "shadow"),
        ("routerapp.Order", "shadow", "--clear"),
    ],
)
def test_usage_errors_exit_2(s2router_settings, args):
    with pytest.raises(CommandError) as info:
        call_command("s2_phase", *args, stdout=StringIO())
    assert info.value.returncode == 2


def test_configuration_errors_exit_2():
    broken = router_settings(SINGLESTORE="s9")
    with (
        override_settings(DATABASE_ROUTERS=ROUTERS, S2ROUTER=broken),
        pytest.raises(CommandError, match=r"s2router\.E001") as info,
    ):
        call_command("s2_phase", stdout=StringIO())
    assert info.value.returncode == 2


def test_unknown_phase_is_an_argparse_error_exit_2(s2router_settings):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("s2_phase", "routerapp.Order", "halfway")


def test_clear(s2router_settings):
    run("routerapp.Order", "dual_write")
    payload, _ = run("routerapp.Order", "--clear")
    assert payload["cleared"] is True
    assert payload["models"][0]["phase"] == "legacy"


def test_text_format(s2router_settings):
    out = StringIO()
    call_command("s2_phase", "routerapp.Order", stdout=out)
    assert out.getvalue().split("\t")[:2] == ["routerapp.order", "legacy"]


def test_tenant_options_need_tenancy(s2router_settings):
    with pytest.raises(CommandError) as info:
        selected_tenants({"all_tenants": True})
    assert info.value.returncode == 2
    assert selected_tenants({}) == [None]


TENANCY = {
    "DATABASE_ROUTERS": ROUTERS,
    "MULTITENANT_MAPPER_CLASS": "tests.router.mapper.HeaderMapper",
    "S2ROUTER": router_settings(
        SINGLESTORE="mysql",
        TENANCY={"DATABASES": ["mysql"], "TENANTS": "tests.router.mapper.tenant_names"},
    ),
}


def test_tenant_helper_resolves_names():
    with override_settings(**TENANCY):
        assert [t.name for t in selected_tenants({"all_tenants": True})] == ["acme", "globex"]
        assert [t.name for t in selected_tenants({"tenant": "acme"})] == ["acme"]
        with pytest.raises(CommandError) as info:
            selected_tenants({"tenant": "evil"})  # the mapper returns an unsafe name
        assert info.value.returncode == 2


@pytest.mark.django_db(databases=["default", "mysql"])
def test_s2_tenants_check_reports_missing_databases_with_exit_1():
    out = StringIO()
    with override_settings(**TENANCY), pytest.raises(CommandError) as info:
        call_command("s2_tenants", "--check", "--format", "json", stdout=out)
    assert info.value.returncode == 1
    rows = json.loads(out.getvalue())["tenants"]
    assert [(r["tenant"], r["exists"]) for r in rows] == [
        ("acme", {"mysql": False}),
        ("globex", {"mysql": False}),
    ]
    assert rows[0]["cache_prefix"] == "tenant-acme"
