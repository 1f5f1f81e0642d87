"""The command line face: `keras-doctor ...`. Nothing imports this package."""

import os
import sys


def main():
    # Quiet the backends' C++ start-up chatter; stdout stays clean for --json.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from kerasdoctor.cli.app import app

    sys.exit(app())
