"""``python -m oneguard.cli ...`` (for machines where the package is not installed)."""

import sys

from oneguard.cli import main

sys.exit(main())
