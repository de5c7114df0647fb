"""The FID Inception-v3: the network of TensorFlow's `inception-2015-12-05` graph, whose weights
pytorch-fid and torch-fidelity publish as `pt_inception-2015-12-05-6726825d.pth`.

Written for wgan-kit (no torchvision), with the module names of torchvision's `Inception3`, so
that the published file loads with `strict=True`: `Conv2d_1a_3x3.conv.weight`,
`Mixed_5b.branch1x1.bn.running_mean`, ..., `fc.weight` (1008 × 2048). It differs from
torchvision's ImageNet Inception-v3 where the TensorFlow graph does, and these differences move
FID and IS, so each is kept:

- every average pool inside a block leaves the zero padding out of the mean
  (`count_include_pad=False`), as TensorFlow's pooling does;
- the last block (`Mixed_7c`) pools its fourth branch with a max pool, not an average;
- batch norm has ε = 0.001 and no scale (the published file's `bn.weight` holds ones);
- the classifier has 1,008 outputs, not 1,000.

It takes 299 × 299 RGB images scaled to [−1, 1) (the caller resizes and scales) and gives the
2048-d pool3 features; `head` turns those into the 1,008 class logits the Inception Score
uses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NUM_CLASSES = 1008  # the TensorFlow graph's softmax: ImageNet's 1,000 classes and 8 unused


class ConvBN(nn.Module):
    """Convolution (no bias), batch norm (ε = 0.001, TensorFlow's), ReLU: every layer of the net."""

    def __init__(self, inputs: int, outputs: int, kernel: int | tuple[int, int],
                 stride: int = 1, padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inputs, outputs, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(outputs, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def chain(x: Tensor, *layers: nn.Module) -> Tensor:
    for layer in layers:
        x = layer(x)
    return x


def mean_pool(x: Tensor) -> Tensor:
    """3×3 average at stride 1 over the real pixels only: TensorFlow's, not torchvision's."""
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class BlockA(nn.Module):
    """35×35 grid (Mixed_5b–5d): 1×1, 5×5, double 3×3 and pooled branches."""

    def __init__(self, inputs: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = ConvBN(inputs, 64, 1)
        self.branch5x5_1 = ConvBN(inputs, 48, 1)
        self.branch5x5_2 = ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = ConvBN(inputs, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, padding=1)
        self.branch_pool = ConvBN(inputs, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1x1(x),
                          chain(x, self.branch5x5_1, self.branch5x5_2),
                          chain(x, self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3),
                          self.branch_pool(mean_pool(x))], 1)


class ReductionB(nn.Module):
    """35×35 to 17×17 (Mixed_6a): strided 3×3, strided double 3×3, max pool."""

    def __init__(self, inputs: int) -> None:
        super().__init__()
        self.branch3x3 = ConvBN(inputs, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvBN(inputs, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch3x3(x),
                          chain(x, self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3),
                          F.max_pool2d(x, 3, stride=2)], 1)


class BlockC(nn.Module):
    """17×17 grid (Mixed_6b–6e): 7×7 convolutions factored into 1×7 and 7×1."""

    def __init__(self, inputs: int, width: int) -> None:
        super().__init__()
        row, column = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
        self.branch1x1 = ConvBN(inputs, 192, 1)
        self.branch7x7_1 = ConvBN(inputs, width, 1)
        self.branch7x7_2 = ConvBN(width, width, **row)
        self.branch7x7_3 = ConvBN(width, 192, **column)
        self.branch7x7dbl_1 = ConvBN(inputs, width, 1)
        self.branch7x7dbl_2 = ConvBN(width, width, **column)
        self.branch7x7dbl_3 = ConvBN(width, width, **row)
        self.branch7x7dbl_4 = ConvBN(width, width, **column)
        self.branch7x7dbl_5 = ConvBN(width, 192, **row)
        self.branch_pool = ConvBN(inputs, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1x1(x),
                          chain(x, self.branch7x7_1, self.branch7x7_2, self.branch7x7_3),
                          chain(x, self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                                self.branch7x7dbl_4, self.branch7x7dbl_5),
                          self.branch_pool(mean_pool(x))], 1)


class ReductionD(nn.Module):
    """17×17 to 8×8 (Mixed_7a)."""

    def __init__(self, inputs: int) -> None:
        super().__init__()
        self.branch3x3_1 = ConvBN(inputs, 192, 1)
        self.branch3x3_2 = ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvBN(inputs, 192, 1)
        self.branch7x7x3_2 = ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvBN(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([chain(x, self.branch3x3_1, self.branch3x3_2),
                          chain(x, self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3,
                                self.branch7x7x3_4),
                          F.max_pool2d(x, 3, stride=2)], 1)


class BlockE(nn.Module):
    """8×8 grid (Mixed_7b, 7c): 3×3 convolutions split into parallel 1×3 and 3×1. The graph's
    last block pools with a max (`max_pool=True`), its first with TensorFlow's mean."""

    def __init__(self, inputs: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = ConvBN(inputs, 320, 1)
        self.branch3x3_1 = ConvBN(inputs, 384, 1)
        self.branch3x3_2a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvBN(inputs, 448, 1)
        self.branch3x3dbl_2 = ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = ConvBN(inputs, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        single = self.branch3x3_1(x)
        double = chain(x, self.branch3x3dbl_1, self.branch3x3dbl_2)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else mean_pool(x)
        return torch.cat([self.branch1x1(x),
                          self.branch3x3_2a(single), self.branch3x3_2b(single),
                          self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double),
                          self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """The whole net: `forward` gives pool3 (N, 2048), `logits` the class logits (N, 1008)."""

    num_features = 2048

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = ConvBN(80, 192, 3)
        self.Mixed_5b = BlockA(192, pool_features=32)
        self.Mixed_5c = BlockA(256, pool_features=64)
        self.Mixed_5d = BlockA(288, pool_features=64)
        self.Mixed_6a = ReductionB(288)
        self.Mixed_6b = BlockC(768, width=128)
        self.Mixed_6c = BlockC(768, width=160)
        self.Mixed_6d = BlockC(768, width=160)
        self.Mixed_6e = BlockC(768, width=192)
        self.Mixed_7a = ReductionD(768)
        self.Mixed_7b = BlockE(1280, max_pool=False)
        self.Mixed_7c = BlockE(2048, max_pool=True)
        self.fc = nn.Linear(2048, NUM_CLASSES)

    def forward(self, x: Tensor) -> Tensor:
        """Images (N, 3, 299, 299) in [−1, 1) -> pool3 features (N, 2048)."""
        x = chain(x, self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3)
        x = chain(F.max_pool2d(x, 3, stride=2), self.Conv2d_3b_1x1, self.Conv2d_4a_3x3)
        x = chain(F.max_pool2d(x, 3, stride=2), self.Mixed_5b, self.Mixed_5c, self.Mixed_5d,
                  self.Mixed_6a, self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e,
                  self.Mixed_7a, self.Mixed_7b, self.Mixed_7c)
        return x.mean((2, 3))  # pool3: the 8×8 grid's mean

    def head(self, features: Tensor) -> Tensor:
        """The 1,008 class logits of pool3 `features`, for the Inception Score: the features
        times the classifier's weights, without its bias, as the score's original code does
        (Salimans et al. 2016, openai/improved-gan: pool3 times the weights of
        `softmax/logits/MatMul`) and torch-fidelity's `logits_unbiased` follows. The softmax is
        then taken over all 1,008, none removed, as there."""
        return features @ self.fc.weight.T.to(features.dtype)

    def logits(self, x: Tensor) -> Tensor:
        """Images, as `forward` takes them -> the class logits `head` gives (N, 1008)."""
        return self.head(self(x))
