"""`python -m onceforall ...` is `ofa ...` (also what torchrun runs)."""

import sys

from onceforall.cli.main import main

sys.exit(main())
