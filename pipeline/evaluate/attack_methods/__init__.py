"""The statistical attack methods: one module per method, registered in :mod:`.registry`."""
