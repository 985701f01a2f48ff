"""``python -m pipeline.etc``: block-wise EtC encryption with keys derived from a secret
(``python -m pipeline.encrypt --scheme etc``; ``docs/etc.md``).

    python -m pipeline.etc --dataset cifar10 --block-size 16 --key-seed 0   # benchmark key 0; private: $VORTEX_SECRET
"""
from workbench.cli import run
from pipeline.encrypt.command import encrypt_app

app = encrypt_app("etc", __doc__)

if __name__ == "__main__":
    run(app)
