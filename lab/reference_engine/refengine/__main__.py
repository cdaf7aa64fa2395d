"""`python3 -m refengine --config FILE` (with the artifact root on sys.path)."""

import sys

from refengine.engine import main

sys.exit(main())
