"""The plugin author's kit: the conformance checks (`wgan_kit.testing`) and `wgan-kit plugins new`."""
