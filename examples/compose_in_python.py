"""The CLI's composition in a few lines of Python: registered names, or your own nn.Modules.

    python examples/compose_in_python.py
"""

import torch
from torch import nn

import wgan_kit

# 1. By name, as `wgan-kit run --data 25gaussians --constraint gp --steps 300` would.
trainer = wgan_kit.compose(data="25gaussians", constraint="gp", steps=300,
                           options={"gen.hidden": 128, "critic.hidden": 128})
print(trainer.train())


# 2. Your own generator and critic, trained with a registered constraint, objective and data.
class TinyGenerator(nn.Module):
    latent_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


critic = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 1))
trainer = wgan_kit.compose(gen=TinyGenerator(), critic=critic, constraint="clip", steps=200)
trainer.train()
print(trainer.sample(5))
