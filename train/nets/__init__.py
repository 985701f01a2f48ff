"""The networks, one module per model (:class:`train.model.Model` says what each module defines);
registered in :mod:`train.model_registry`."""
