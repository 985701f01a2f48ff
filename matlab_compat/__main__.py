"""``python -m matlab_compat``: the MAT-file command line (see matlab_compat.cli)."""
from matlab_compat.cli import app

if __name__ == "__main__":
    app()
