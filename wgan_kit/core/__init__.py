"""The core: the protocols parts meet, the plugin contract and registry, the configuration, the
training loop, and what a run leaves behind (checkpoints, run folder, random streams)."""
