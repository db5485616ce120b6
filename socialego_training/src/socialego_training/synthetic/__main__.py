import sys

from socialego_training.synthetic.cli import main

sys.exit(main())
