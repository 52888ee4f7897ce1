import sys

from nps_id.cli import main

sys.exit(main())
