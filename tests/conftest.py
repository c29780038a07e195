"""Make the checkout importable as the koji_adjutant.builder collection."""

import koji_adjutant

koji_adjutant.ensure_collection_importable()
