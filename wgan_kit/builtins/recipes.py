"""The settings each method of the WGAN-GP paper was published with, as recipes.

`wgan-kit run --recipe NAME` starts from one of them. A recipe names the objective and the
constraint and sets the optimizer, n_critic, batch size and learning-rate schedule of its source;
a recipe made for particular nets and data (the CIFAR ResNet) names them too. Any setting can still
be overridden. Sources:
Gulrajani et al. 2017 (WGAN-GP: Algorithm 1, Appendices E and F) and its released code
(github.com/igul222/improved_wgan_training: gan_toy.py, gan_64x64.py, gan_cifar_resnet.py);
Arjovsky et al. 2017 (WGAN, Algorithm 1); Radford et al. 2016 (DCGAN); Mao et al. 2017 (LSGAN).
"""

from __future__ import annotations

from wgan_kit import Recipe, hookimpl

WGAN_GP = Recipe(
    "wgan-gp",
    {"objective.name": "wgan", "constraint.name": "gp", "constraint.weight": 10.0,
     "run.optimizer": "adam", "run.lr": 1e-4, "run.betas": (0.0, 0.9), "run.lr_schedule": "constant",
     "run.n_critic": 5, "run.batch_size": 64},
    "WGAN-GP's default settings: λ = 10, n_critic = 5, Adam α = 1e-4, β = (0, 0.9), m = 64.",
    "WGAN-GP Algorithm 1",
)

WGAN_GP_TOY = Recipe(
    "wgan-gp-toy",
    {"gen.name": "mlp", "critic.name": "mlp", "gen.hidden": 512, "critic.hidden": 512,
     "objective.name": "wgan", "constraint.name": "gp", "constraint.weight": 0.1,
     "run.optimizer": "adam", "run.lr": 1e-4, "run.betas": (0.5, 0.9), "run.lr_schedule": "constant",
     "run.n_critic": 5, "run.batch_size": 256, "run.ema_decay": 0.0},
    "WGAN-GP on the 2-D toy sets: 512-wide ReLU MLPs, λ = 0.1, n_critic = 5, Adam α = 1e-4, "
    "β = (0.5, 0.9), m = 256, no moving average.",
    "released gan_toy.py (DIM = 512, LAMBDA = .1, CRITIC_ITERS = 5, BATCH_SIZE = 256); WGAN-GP "
    "Section 3",
)

WGAN_GP_CIFAR_RESNET = Recipe(
    "wgan-gp-cifar-resnet",
    {"gen.name": "resnet", "critic.name": "resnet", "data.name": "cifar10",
     "objective.name": "wgan", "constraint.name": "gp", "constraint.weight": 10.0,
     "run.optimizer": "adam", "run.lr": 2e-4, "run.betas": (0.0, 0.9), "run.lr_schedule": "linear",
     "run.steps": 100_000, "run.n_critic": 5, "run.batch_size": 64,
     "run.generator_batch_size": 128},
    "WGAN-GP's CIFAR-10 ResNet nets on CIFAR-10 (give its files with --set data.path=DIR, or "
    "train the nets on other 32×32 images with --data images --set data.path=DIR "
    "--set data.size=32): Adam α = 2e-4 decayed linearly to 0 over 100k generator steps, "
    "β = (0, 0.9), λ = 10, n_critic = 5, critic batch 64, generator batch 128. The source also "
    "dequantizes real images with U[0, 1/128) noise: set that on the data source.",
    "WGAN-GP Appendix F; released gan_cifar_resnet.py (GEN_BS_MULTIPLE = 2, DECAY, dequantize)",
)

WGAN_GP_CIFAR_RESNET_ACGAN = Recipe(
    "wgan-gp-cifar-resnet-acgan",
    {**WGAN_GP_CIFAR_RESNET.settings, "run.conditional": True,
     "run.class_loss_weights": (1.0, 0.1)},
    "WGAN-GP's conditional CIFAR-10 model (AC-GAN form): the CIFAR ResNet settings, the "
    "generator's batch norms conditioned on the class, a class head on the critic, cross-entropy "
    "weighted 1 on real samples (critic) and 0.1 on generated ones (generator). Needs a labelled "
    "source, e.g. --data cifar10.",
    "WGAN-GP Section 5.3 and Appendix F; released gan_cifar_resnet.py (CONDITIONAL, ACGAN, "
    "ACGAN_SCALE = 1, ACGAN_SCALE_G = 0.1)",
)

WGAN_CLIP = Recipe(
    "wgan-clip",
    {"objective.name": "wgan", "constraint.name": "clip", "constraint.c": 0.01,
     "run.optimizer": "rmsprop", "run.lr": 5e-5, "run.lr_schedule": "constant", "run.n_critic": 5,
     "run.batch_size": 64},
    "The original WGAN: weights clipped to [−0.01, 0.01], RMSProp α = 5e-5, n_critic = 5, m = 64 "
    "(its code's warm-up: --set run.critic_schedule=wgan).",
    "WGAN Algorithm 1 (Arjovsky et al. 2017); WGAN-GP Appendix E",
)

DCGAN = Recipe(
    "dcgan",
    {"objective.name": "gan", "objective.generator_loss": "non_saturating",
     "constraint.name": "none", "run.optimizer": "adam", "run.lr": 2e-4, "run.betas": (0.5, 0.999),
     "run.lr_schedule": "constant", "run.n_critic": 1, "run.batch_size": 64},
    "The standard GAN as DCGAN trains it: no constraint, Adam α = 2e-4, β = (0.5, 0.999), one "
    "critic step per generator step, m = 64.",
    "DCGAN (Radford et al. 2016); WGAN-GP Appendices B and E; batch 64 as the paper's comparison "
    "code gan_64x64.py (the DCGAN paper used 128)",
)

LSGAN = Recipe(
    "lsgan",
    {"objective.name": "lsgan", "constraint.name": "none", "run.optimizer": "rmsprop",
     "run.lr": 1e-4, "run.lr_schedule": "constant", "run.n_critic": 1, "run.batch_size": 64},
    "Least-squares GAN: no constraint, RMSProp α = 1e-4, one critic step per generator step, m = 64.",
    "WGAN-GP Appendix E (α found by search over 1e-3, 2e-4, 1e-4); gan_64x64.py; Mao et al. 2017",
)

WGAN_GP_LSUN = Recipe(
    "wgan-gp-lsun",
    {"objective.name": "wgan", "constraint.name": "gp", "constraint.weight": 10.0,
     "run.optimizer": "adam", "run.lr": 1e-4, "run.betas": (0.5, 0.9), "run.lr_schedule": "constant",
     "run.n_critic": 5, "run.batch_size": 64},
    "WGAN-GP in the LSUN architecture comparison: Adam α = 1e-4, β = (0.5, 0.9), λ = 10, "
    "n_critic = 5, m = 64.",
    "WGAN-GP Appendix E; released gan_64x64.py",
)

RECIPES = (WGAN_GP, WGAN_GP_TOY, WGAN_GP_CIFAR_RESNET, WGAN_GP_CIFAR_RESNET_ACGAN, WGAN_CLIP, DCGAN,
           LSGAN, WGAN_GP_LSUN)


@hookimpl
def register_recipes(register):
    for recipe in RECIPES:
        register(recipe)
