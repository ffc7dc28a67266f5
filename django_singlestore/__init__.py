"""Django database backend for SingleStore (``ENGINE: "django_singlestore"``)."""
