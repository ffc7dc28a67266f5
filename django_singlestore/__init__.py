"""Django database backend for SingleStore (``ENGINE: "django_singlestore"``)."""

from django_singlestore.versions import check_supported

# Before anything else imports Django's internals, which differ between releases.
check_supported()
