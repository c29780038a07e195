"""``python -m koji_adjutant_devhub`` runs the dev hub command line."""

import sys

from .cli import main

sys.exit(main())
