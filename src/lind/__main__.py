import sys

from lind.cli.main import main

sys.exit(main())
