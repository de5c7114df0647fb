from wgan_kit.cli import main

main()
