"""Make the checkout importable as the koji_adjutant.builder collection."""

import koji_adjutant  # noqa: F401  (puts <repo>/collections on sys.path)
