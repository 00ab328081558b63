"""`python run.py [serve|migrate]` in a checkout: the same command line as `sms-gateway` (gateway/cli.py)."""

import sys

from gateway.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="python run.py"))
