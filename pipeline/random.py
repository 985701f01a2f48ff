"""``python -m pipeline.random``: port of ``random_permutation.m``, every image's pixels shuffled by its own
permutation drawn from MATLAB's stream (``python -m pipeline.encrypt --scheme random``).

    python -m pipeline.random --dataset mnist --seed 0
"""
from workbench.cli import run
from pipeline.encrypt.command import encrypt_app

app = encrypt_app("random", __doc__)

if __name__ == "__main__":
    run(app)
