"""``python -m explorer`` is ``stochastic-explorer``."""
import sys

from explorer.cli import main

sys.exit(main())
