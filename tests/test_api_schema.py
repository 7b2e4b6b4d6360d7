"""
The OpenAPI schema tells the truth: real responses validate against it, and
schemathesis, driven by the served schema, finds no 5xx and no response that
contradicts it, as an admin's token and as a vendor's.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from slagov.models import Membership
from slagov.services import api_token_create
from tests.conftest import World, token_client

PREFIX = "/api/v1/o/{org_slug}"


@pytest.fixture(scope="module")
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _json_schema(node, *, strict: bool):
    """
    OpenAPI 3.0 schema → JSON Schema: `nullable` becomes a null alternative. With
    `strict`, an object with properties takes no undocumented ones.
    """
    if isinstance(node, list):
        return [_json_schema(item, strict=strict) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value, strict=strict) for key, value in node.items()}
    if strict and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if out.pop("nullable", False):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def assert_conforms(openapi: dict, path: str, method: str, response) -> None:
    """The response's status is documented for the operation and its body matches."""
    operation = openapi["paths"][PREFIX + path][method]
    documented = operation["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method} {path} → {status}, documented: {list(documented)}"
    schema = documented[status]["content"]["application/json"]["schema"]
    root = _json_schema(copy.deepcopy(schema), strict=True)
    root["components"] = _json_schema(copy.deepcopy(openapi["components"]), strict=True)
    jsonschema.validate(response.json(), root, cls=jsonschema.Draft202012Validator)


def _url(world: World, name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs={"org_slug": world.org.slug, **kwargs})


def test_contract_lists_conform_for_an_admin_and_a_vendor(openapi, world: World):
    admin = token_client(world.org, world.alice).get(_url(world, "contract-list"))
    assert admin.json()["results"][0]["recommendation"]
    assert_conforms(openapi, "/contracts/", "get", admin)
    vendor = token_client(world.org, world.vic).get(_url(world, "contract-list"))
    assert "recommendation" not in vendor.json()["results"][0]
    assert_conforms(openapi, "/contracts/", "get", vendor)


def test_a_contract_without_owner_conforms(openapi, world: World):
    from django_scopes import scopes_disabled

    from contracts.models import Contract

    with scopes_disabled():
        Contract.objects.filter(pk=world.mine.contract.pk).update(owner=None)
    response = token_client(world.org, world.alice).get(
        _url(world, "contract-detail", pk=world.mine.contract.pk)
    )
    assert response.json()["owner"] is None
    assert_conforms(openapi, "/contracts/{id}/", "get", response)


def test_a_submission_with_rows_and_a_refused_one_conform(openapi, world: World):
    api = token_client(world.org, world.vic)
    row = {"contract": world.mine.contract.reference, "sla": "avail", "period": "2026-01"}
    preview = api.post(
        _url(world, "submission-list"), {"rows": [{**row, "value": 98}], "dry_run": True},
        format="json",
    )  # fmt: skip
    assert preview.status_code == 201, preview.json()
    assert_conforms(openapi, "/submissions/", "post", preview)
    detail = api.get(_url(world, "submission-detail", pk=preview.json()["id"]))
    assert [r["action"] for r in detail.json()["rows"]] == ["changed"]
    assert_conforms(openapi, "/submissions/{id}/", "get", detail)
    refused = api.post(
        _url(world, "submission-list"), {"rows": [{**row, "value": "lots"}]}, format="json"
    )
    assert refused.status_code == 422
    assert refused.json()["message"]
    assert_conforms(openapi, "/submissions/", "post", refused)
    listing = api.get(_url(world, "submission-list"))
    assert_conforms(openapi, "/submissions/", "get", listing)


def test_credits_readings_statuses_and_escalations_conform(openapi, world: World):
    api = token_client(world.org, world.bob)
    for name, path in (
        ("credit-list", "/credits/"),
        ("reading-list", "/readings/"),
        ("status-list", "/statuses/"),
        ("trend-list", "/trends/"),
        ("escalation-list", "/escalations/"),
        ("sla-list", "/slas/"),
        ("policy-list", "/escalation-policies/"),
        ("vendor-list", "/vendors/"),
    ):
        response = api.get(_url(world, name))
        assert response.status_code == 200
        assert_conforms(openapi, path, "get", response)
    escalation = api.get(_url(world, "escalation-detail", pk=world.mine.escalation.pk))
    assert_conforms(openapi, "/escalations/{id}/", "get", escalation)


def test_errors_conform(openapi, world: World):
    api = token_client(world.org, world.vic)
    missing = api.get(_url(world, "contract-detail", pk=world.theirs.contract.pk))
    assert missing.status_code == 404
    assert_conforms(openapi, "/contracts/{id}/", "get", missing)
    bad = api.get(_url(world, "reading-list"), {"contract": "٣"})
    assert bad.status_code == 400
    assert_conforms(openapi, "/readings/", "get", bad)
    refused = api.post(_url(world, "contract-list"), {}, format="json")
    assert refused.status_code in {400, 403}
    assert_conforms(openapi, "/contracts/", "post", refused)
    anonymous = APIClient().get(_url(world, "contract-list"))
    assert anonymous.status_code == 401
    assert_conforms(openapi, "/contracts/", "get", anonymous)


# --- schemathesis against a live server --------------------------------------------

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = 5  # per operation: the whole test stays near a minute on 2 cores


def _fuzz(live_server, key: str, workdir: Path) -> subprocess.CompletedProcess:
    config = workdir / "schemathesis.toml"
    config.write_text('generation.database = "none"\n[parameters]\n"path.org_slug" = "acme"\n')
    command = [
        str(SCHEMATHESIS), "--config-file", str(config), "run",
        f"{live_server.url}/api/v1/schema/?format=json",
        "--url", live_server.url,
        "--header", f"Authorization: Token {key}",
        "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
        "--phases", "examples,fuzzing",
        "--max-examples", str(EXAMPLES),
        "--seed", "8",
        "--workers", "1",
        "--request-timeout", "20",
        "--generation-deterministic",
        "--no-color",
        "--suppress-health-check", "all",
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=150,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
        check=False,
    )


@pytest.mark.integration
@pytest.mark.parametrize("who", ["alice", "vic"])
def test_schemathesis_finds_no_server_error_and_no_undocumented_response(
    live_server, world: World, settings, tmp_path, who
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token_read": "100000/minute", "token_write": "100000/minute"},
    }
    user = getattr(world, who)
    membership = Membership.objects.get(user=user, organization=world.org)
    _, key = api_token_create(organization=world.org, actor=user, membership=membership, name="f")
    started = time.monotonic()
    run = _fuzz(live_server, key, tmp_path)
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout or "passed" in run.stdout.lower(), run.stdout[-3000:]
    assert elapsed < 90, f"the fuzzing took {elapsed:.0f} s"
