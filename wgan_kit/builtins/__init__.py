"""wgan-kit's own components. Each is a plugin registered through the `wgan_kit` entry points in
pyproject.toml, exactly as a third-party package registers its own; the core never imports them."""
