"""One module per source family; each registers its loaders with
:func:`oneguard.data.registry.register_source`."""
