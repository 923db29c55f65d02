"""`python -m audiolime_client …` is the `audiolime` command."""
import sys

from audiolime_client.cli import main

sys.exit(main())
