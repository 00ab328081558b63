"""`python -m gateway [serve|migrate]`: the same command line as `sms-gateway` (gateway/cli.py)."""

import sys

from gateway.cli import main

sys.exit(main(sys.argv[1:], prog="python -m gateway"))
