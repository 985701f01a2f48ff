"""``python -m pipeline.encrypt``: see :mod:`pipeline.encrypt.command`."""
from workbench.cli import run
from pipeline.encrypt.command import encrypt_app

app = encrypt_app()

if __name__ == "__main__":
    run(app)
