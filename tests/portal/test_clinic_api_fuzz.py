"""Schemathesis against /api/schema/: generated requests (and the schema's own examples) to
every clinic API operation never get a server error, and answers match the schema."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from portal.api_keys import create_api_key

# Schema generation needs no database, so the schema is read once, at collection.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def keep_test_connection():
    """The WSGI app would close the test's database connection after each request (Django's
    own test client avoids the same signal handlers): fatal on PostgreSQL."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def write_key(clinic, clinic_admin, patient, settings, keep_test_connection):
    settings.CLINIC_API_RATE = "100000/minute"
    return create_api_key(clinic=clinic, by=clinic_admin, name="Fuzz", scope="write").key


@schema.include(path_regex=r"^/api/v1/(patients|visits|courses|assignments|modules|care-plans)").parametrize()
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_clinic_api_holds_up_to_generated_requests(case, write_key):
    # The WSGI transport hands back the body as sent and decodes no gzip: ask for none.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {write_key}", "Accept-Encoding": "identity"},
        checks=[not_a_server_error, response_schema_conformance],
    )
