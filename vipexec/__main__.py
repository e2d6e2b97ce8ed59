"""``python -m vipexec``: the same as the ``vipexec`` command."""

import sys

from vipexec.cli import main

sys.exit(main())
