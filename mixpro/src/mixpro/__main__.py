"""``python -m mixpro ...``: the ``mixpro`` command without the console script (torchrun, a
bare PYTHONPATH checkout)."""

import sys

from mixpro.cli import main

sys.exit(main())
