"""``python -m mesoscale.sweep ...`` (same as ``mesoscale sweep ...``)."""

import sys

from mesoscale.sweep import main

sys.exit(main())
