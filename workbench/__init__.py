"""The base both applications stand on: one exception base, the command-line convention, atomic
outputs, the registry style and the dataset layer. ``pipeline`` and ``train`` import it; it imports
neither of them (only ``matlab_compat``, the standalone MAT-file library)."""
