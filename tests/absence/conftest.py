import pytest


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Swedish users' browsers ask for Swedish; Chromium's default (en-US) would get the English UI.
    return {**browser_context_args, "locale": "sv-SE"}
