"""EMAIL_URL reaches the mail backend on Django 5.2 (EMAIL_* settings) and on Django 6.1 (MAILERS,
which replaces them), without a deprecation warning on either."""

import warnings

import django
import environ
import pytest
from django.test import override_settings

from lifemsg.settings.mail import USES_MAILERS, mail_settings, mail_settings_from_url


def _backend(settings: dict):
    """The default mail backend Django builds from `settings`, and the warnings building it gave."""
    with warnings.catch_warnings(record=True) as caught, override_settings(**settings):
        warnings.simplefilter("always")
        if USES_MAILERS:  # django.core.mail.mailers is new in 6.1
            from django.core.mail import mailers

            backend = mailers.default
        else:
            from django.core.mail import get_connection

            backend = get_connection()
    deprecated = DeprecationWarning | PendingDeprecationWarning
    deprecations = [w for w in caught if issubclass(w.category, deprecated)]
    return backend, deprecations


def test_the_settings_form_follows_the_running_django():
    assert (django.VERSION >= (6, 1)) == USES_MAILERS
    names = set(mail_settings("django.core.mail.backends.locmem.EmailBackend"))
    assert names == ({"MAILERS"} if USES_MAILERS else {"EMAIL_BACKEND"})


def test_an_smtp_url_reaches_the_smtp_backend_with_its_server_and_timeout():
    url = environ.Env.email_url_config("smtp+tls://lifemsg:hemligt@smtp.kommun.example:587")
    backend, deprecations = _backend(mail_settings_from_url(url, timeout=7))
    assert type(backend).__module__ == "django.core.mail.backends.smtp"
    assert (backend.host, backend.port, backend.username, backend.password) == (
        "smtp.kommun.example",
        587,
        "lifemsg",
        "hemligt",
    )
    assert (backend.use_tls, backend.use_ssl, backend.timeout) == (True, False, 7)
    assert deprecations == []


def test_make_runs_file_backend_writes_where_it_is_told(tmp_path):
    backend, deprecations = _backend(
        mail_settings("django.core.mail.backends.filebased.EmailBackend", file_path=str(tmp_path))
    )
    assert backend.file_path == str(tmp_path)
    assert deprecations == []


def test_a_console_url_passes_no_server_options():
    settings = mail_settings_from_url(environ.Env.email_url_config("consolemail://"), timeout=15)
    backend, deprecations = _backend(settings)
    assert type(backend).__module__ == "django.core.mail.backends.console"
    assert deprecations == []


def test_an_option_the_backends_do_not_know_is_refused():
    with pytest.raises(ValueError, match="unknown mail options"):
        mail_settings("django.core.mail.backends.smtp.EmailBackend", hots="smtp.kommun.example")
