"""The learned attacks of the EtC paper's Section IV-E against any scheme: ITN, GAN and FR (``registry.LEARNED``).

Modules: ``kind`` (an attack as a registry part), ``registry`` (the kinds, one line each),
``networks`` (translator, critic), ``training`` (seeded loop to a held-out plateau or a cap,
checkpoints), ``itn``, ``gan``, ``fr``, ``lpips``, ``run`` (one entry, scoring), ``results``
(result, side and curve files), ``figures`` (box plots and the picture grid), ``table`` (mean
SSIM beside the EtC paper's Figure 6); ``python -m pipeline.learned_attack`` runs them.
"""

import train  # noqa: F401,E402  first: it sets OMP_WAIT_POLICY=PASSIVE before torch loads (spinning threads: up to 9x slower when shared)
