"""Running reports: the registry, run parameters, the runner, the manifest, export and templates."""
