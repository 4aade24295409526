"""`python -m gateway` is the same as the `pilebridge` command."""

import sys

from gateway.cli import main

sys.exit(main())
