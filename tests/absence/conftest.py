import importlib

import pytest
from django.apps import apps

from tests import factories

roles_migration = importlib.import_module("accounts.migrations.0002_roles")


@pytest.fixture
def org(db):
    """tests/conftest.py's `org`, plus: the role groups come from a data migration, which a
    transactional test's flush (worker and browser tests) removes; put them back first."""
    roles_migration.create_roles(apps, None)
    return factories.Organisation.build()


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Swedish users' browsers ask for Swedish; Chromium's default (en-US) would get the English UI.
    return {**browser_context_args, "locale": "sv-SE"}
