"""``python -m pipeline.jpeg``: the old name of ``python -m pipeline.compress`` (kept for one release).

It now measures every scheme (not only EtC) from the plain images, encrypted in memory; the
JPEG-compressed training sets it used to write (``--write-dataset``) are made on the training
data path instead (``python -m train --jpeg-quality Q``).
"""
from workbench.cli import run
from pipeline.compress import app

if __name__ == "__main__":
    run(app)
