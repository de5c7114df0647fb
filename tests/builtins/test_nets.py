"""The net zoo: every built-in generator and critic, on every kind of sample it supports, makes the
data's shape, trains (the penalty's double backward included), and refuses what it cannot make."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import wgan_kit
from wgan_kit import SampleSpec, WganKitError
from wgan_kit.builtins.charcnn.nets import ResidualBlock1d
from wgan_kit.builtins.resnet.nets import BottleneckBlock
from wgan_kit.builtins.random_architectures import DEPTHS, FILTERS, NONLINEARITIES

POINTS = SampleSpec((2,), "points")
GREY_28 = SampleSpec((1, 28, 28), "image", value_range=(-1.0, 1.0))
RGB_32 = SampleSpec((3, 32, 32), "image", value_range=(-1.0, 1.0))
RGB_64 = SampleSpec((3, 64, 64), "image", value_range=(-1.0, 1.0))
TEXT = SampleSpec((6, 5), "sequence")  # 6 characters over a vocabulary of 5


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Nets this tiny run fastest on one thread: splitting each small op across threads only
    adds synchronisation (about ten times slower on a busy two-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class RandomSamples:
    """A DataSource of random samples of any spec: points from N(0, I), images uniform in
    [-1, 1], one-hot sequences. Enough for shapes and a few training steps."""

    def __init__(self, spec: SampleSpec) -> None:
        self.spec = spec

    def draw(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.spec.kind == "image":
            return torch.rand(n, *self.spec.shape, generator=generator) * 2 - 1
        if self.spec.kind == "sequence":
            length, vocabulary = self.spec.shape
            symbols = torch.randint(vocabulary, (n, length), generator=generator)
            return torch.nn.functional.one_hot(symbols, vocabulary).float()
        return torch.randn(n, *self.spec.shape, generator=generator)

    def batches(self, batch_size, *, seed, device, skip=0):
        generator = torch.Generator().manual_seed(seed)
        while True:
            yield self.draw(batch_size, generator).to(device)

    def held_out(self, n, *, device):
        return self.draw(n).to(device)

    def decode(self, batch):
        return batch.cpu()


# (net, spec, generator options, critic options): tiny widths, every sample kind each net makes,
# and the architecture variants of WGAN-GP Figure 2.
CASES = {
    "mlp-points": ("mlp", POINTS, {"hidden": 8}, {"hidden": 8}),
    "mlp-image": ("mlp", GREY_28, {"hidden": 8}, {"hidden": 8, "norm": "layer"}),
    "mlp-sequence": ("mlp", TEXT, {"hidden": 8}, {"hidden": 8}),
    "dcgan-28": ("dcgan", GREY_28, {"filters": 4}, {"filters": 4}),
    "dcgan-32": ("dcgan", RGB_32, {"filters": 4}, {"filters": 4}),
    "dcgan-64": ("dcgan", RGB_64, {"filters": 2}, {"filters": 2}),
    "dcgan-constant-filters-no-bn": ("dcgan", RGB_32, {"filters": 4, "constant_filters": True,
                                                       "norm": "none"}, {"filters": 4}),
    "dcgan-no-norm": ("dcgan", RGB_32, {"filters": 4, "norm": "none"},
                      {"filters": 4, "norm": "none"}),
    "dcgan-gated": ("dcgan", RGB_32, {"filters": 4, "nonlinearity": "gated"},
                    {"filters": 4, "nonlinearity": "gated"}),
    "dcgan-tanh": ("dcgan", RGB_32, {"filters": 4, "nonlinearity": "tanh"},
                   {"filters": 4, "nonlinearity": "tanh"}),
    "dcgan-extra-layers": ("dcgan", RGB_32, {"filters": 4, "extra_layers": 2},
                           {"filters": 4, "extra_layers": 3}),
    "random": ("random", RGB_32, {"filters": 2, "arch_seed": 2}, {"filters": 2, "arch_seed": 2}),
    "resnet-28": ("resnet", GREY_28, {"filters": 4}, {"filters": 4}),
    "resnet-32": ("resnet", RGB_32, {"filters": 4}, {"filters": 4}),
    "resnet-64": ("resnet", RGB_64, {"filters": 2}, {"filters": 2, "down_blocks": 4}),
    "resnet-deep-32": ("resnet", RGB_32, {"layout": "deep", "filters": 4, "plain_blocks": 1},
                       {"layout": "deep", "filters": 4, "plain_blocks": 2}),
    "resnet-layer-norm": ("resnet", RGB_32, {"filters": 4, "plain_blocks": 1},
                          {"filters": 4, "norm": "layer"}),
    "charcnn": ("charcnn", TEXT, {"filters": 4}, {"filters": 4}),
    "charcnn-shallow": ("charcnn", TEXT, {"filters": 3, "blocks": 1}, {"filters": 3, "blocks": 2}),
}


def build(registry, kind: str, name: str, spec: SampleSpec, options: dict) -> torch.nn.Module:
    component = registry.get(kind, name)
    return component.factory(component.options.model_validate(options), spec)


@pytest.fixture(params=list(CASES), ids=list(CASES))
def nets(request, registry):
    name, spec, gen_options, critic_options = CASES[request.param]
    torch.manual_seed(0)
    return (build(registry, "generator", name, spec, gen_options),
            build(registry, "critic", name, spec, critic_options), spec)


def test_generator_makes_the_datas_shape_and_the_critic_one_score_per_sample(nets):
    generator, critic, spec = nets
    samples = generator(torch.randn(3, generator.latent_dim))
    assert samples.shape == (3, *spec.shape)
    if spec.kind == "image":  # tanh output, the data's [-1, 1]
        assert samples.abs().max() <= 1
    if spec.kind == "sequence":  # a softmax over the vocabulary at each position
        torch.testing.assert_close(samples.sum(-1), torch.ones(3, spec.shape[0]))
    assert critic(samples).shape == (3,)


def test_every_weight_of_both_nets_gets_a_gradient(nets):
    generator, critic, _ = nets
    critic(generator(torch.randn(3, generator.latent_dim))).mean().backward()
    for net in (generator, critic):
        for name, parameter in net.named_parameters():
            assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name


def test_critic_supports_the_double_backward_of_the_gradient_penalty(nets):
    _, critic, spec = nets
    x = RandomSamples(spec).draw(3).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    penalty = (gradient.flatten(1).norm(dim=1) - 1).square().mean()
    penalty.backward()
    grads = [p.grad for p in critic.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


@pytest.mark.parametrize("case", list(CASES))
def test_a_composed_run_trains_a_few_steps_with_the_gradient_penalty(registry, case):
    name, spec, gen_options, critic_options = CASES[case]
    options = {**{f"gen.{k}": v for k, v in gen_options.items()},
               **{f"critic.{k}": v for k, v in critic_options.items()}}
    trainer = wgan_kit.compose(gen=name, critic=name, constraint="gp", data=RandomSamples(spec),
                               options=options, registry=registry, steps=2, batch_size=4,
                               n_critic=1)
    metrics = trainer.train()
    assert metrics["step"] == 2
    assert all(math.isfinite(value) for value in metrics.values())
    assert trainer.sample(2).shape == (2, *spec.shape)


def test_dcgan_layout_at_64x64_is_the_released_codes(registry):
    """gan_64x64.py: 8·DIM channels at 4×4, halving to DIM at 32×32, then 3 channels at 64×64."""
    generator = build(registry, "generator", "dcgan", RGB_64, {"filters": 8})
    critic = build(registry, "critic", "dcgan", RGB_64, {"filters": 8})
    shapes, x = [], torch.randn(2, 128)
    for layer in generator.net:
        x = layer(x)
        if isinstance(layer, (torch.nn.Unflatten, torch.nn.ConvTranspose2d)):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(64, 4, 4), (32, 8, 8), (16, 16, 16), (8, 32, 32), (3, 64, 64)]
    shapes = []
    for layer in critic.net:
        x = layer(x)
        if isinstance(layer, torch.nn.Conv2d):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(8, 32, 32), (16, 16, 16), (32, 8, 8), (64, 4, 4)]
    assert critic.net[-1].in_features == 64 * 4 * 4


def assert_every_weight_learns_under_the_penalty(generator: torch.nn.Module,
                                                 critic: torch.nn.Module, x: torch.Tensor) -> None:
    """A critic loss with its gradient penalty on generated samples `x` gives every weight of
    both nets a finite gradient."""
    scores = critic(x)
    (gradient,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    (scores.mean() + (gradient.flatten(1).norm(dim=1) - 1).square().mean()).backward()
    for net in (generator, critic):
        for name, parameter in net.named_parameters():
            assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name


def layer_table(net: torch.nn.Module, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """(row, output shape of one sample) for each top-level layer of a net's `net` sequence."""
    rows = []
    for name, layer in net.net.named_children():
        x = layer(x)
        rows.append((name, tuple(x.shape[1:])))
    return rows


def test_resnet_at_defaults_has_the_layer_table_of_appendix_f(registry):
    generator = build(registry, "generator", "resnet", RGB_32, {})
    critic = build(registry, "critic", "resnet", RGB_32, {})
    with torch.no_grad():
        generated = layer_table(generator, torch.randn(2, 128))
        scored = layer_table(critic, torch.randn(2, *RGB_32.shape))
    print("\n".join(f"{name:>8}  {shape}" for name, shape in generated + scored))
    assert generator.latent_dim == 128
    assert generated == [("linear", (128, 4, 4)), ("up1", (128, 8, 8)), ("up2", (128, 16, 16)),
                         ("up3", (128, 32, 32)), ("output", (3, 32, 32))]
    assert scored == [("down1", (128, 16, 16)), ("down2", (128, 8, 8)), ("plain1", (128, 8, 8)),
                      ("plain2", (128, 8, 8)), ("pool", (128,)), ("linear", (1,))]
    kernels = {m.kernel_size for m in critic.net.plain1.branch if isinstance(m, torch.nn.Conv2d)}
    assert kernels == {(3, 3)} and isinstance(critic.net.plain1.shortcut, torch.nn.Identity)
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm))
                   for m in critic.modules())  # "no normalization" in the critic
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in generator.modules()) == 3 * 2 + 1


def test_resnet_on_64x64_data_gets_four_up_blocks_and_a_critic_down_to_8x8(registry):
    generator = build(registry, "generator", "resnet", RGB_64, {"filters": 2})
    critic = build(registry, "critic", "resnet", RGB_64, {"filters": 2})
    generated = layer_table(generator, torch.randn(2, 128))
    assert [name for name, _ in generated] == ["linear", "up1", "up2", "up3", "up4", "output"]
    assert layer_table(critic, torch.randn(2, *RGB_64.shape))[:4] == [
        ("down1", (2, 32, 32)), ("down2", (2, 16, 16)), ("down3", (2, 8, 8)), ("plain1", (2, 8, 8))]


def test_deep_resnet_on_64x64_has_the_released_codes_101_layers(registry):
    """gan_64x64.py's ResnetGenerator / ResnetDiscriminator: 33 bottleneck blocks of 3 convolutions,
    plus the linear layer and the 1×1 convolution at the other end; shortcuts not counted."""
    torch.manual_seed(0)
    generator = build(registry, "generator", "resnet", RGB_64, {"layout": "deep", "filters": 4})
    critic = build(registry, "critic", "resnet", RGB_64, {"layout": "deep", "filters": 4})
    for net in (generator, critic):
        shortcuts = sum(weighted_layers(m.shortcut) for m in net.modules()
                        if isinstance(m, BottleneckBlock))
        assert weighted_layers(net) - shortcuts == 101
        assert sum(isinstance(m, BottleneckBlock) for m in net.modules()) == 33
    assert isinstance(critic.net.side64_1.branch[-1], torch.nn.GroupNorm)  # layer norm
    assert isinstance(generator.net.side64_1.branch[-1], torch.nn.BatchNorm2d)
    generated = layer_table(generator, torch.randn(2, 128))
    assert generated[0] == ("linear", (32, 4, 4)) and generated[-1] == ("output", (3, 64, 64))
    assert ("up4", (2, 64, 64)) in generated
    x = generator(torch.randn(2, 128))
    assert x.abs().max() <= 1
    assert_every_weight_learns_under_the_penalty(generator, critic, x)


def test_deep_resnet_refuses_filters_its_bottlenecks_cannot_halve(registry):
    with pytest.raises(WganKitError, match=r"gen.filters: layout=deep .* multiple of 4, got 6"):
        build(registry, "generator", "resnet", RGB_64, {"layout": "deep", "filters": 6})


def test_layer_norm_of_conv_critics_normalizes_each_sample_over_channels_and_pixels(registry):
    critic = build(registry, "critic", "dcgan", RGB_32, {"filters": 4})
    norms = [m for m in critic.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert norms and all(m.num_groups == 1 and m.weight.shape == (m.num_channels,) for m in norms)


@pytest.mark.parametrize("critic_norm, refused", [("batch", True), ("layer", False),
                                                  ("none", False)])
def test_batch_norm_critic_is_refused_under_the_gradient_penalty(registry, critic_norm, refused):
    def compose(constraint):
        return wgan_kit.compose(gen="dcgan", critic="dcgan", constraint=constraint,
                                data=RandomSamples(RGB_32), registry=registry, steps=1,
                                options={"gen.filters": 2, "critic.filters": 2,
                                         "critic.norm": critic_norm})

    if refused:
        with pytest.raises(WganKitError, match=r"critic: batch normalization .* constraint 'gp'.*"
                                               r"Section 4.*critic.norm=layer"):
            compose("gp")
    else:
        compose("gp")
    compose("clip")  # the original WGAN used batch norm in its critic, with clipping


@pytest.mark.parametrize("name, kind, spec, message", [
    ("dcgan", "generator", POINTS,
     r"gen: dcgan handles images \(C, H, W\), but the data's samples are points of shape \(2,\); "
     r"for points use mlp"),
    ("dcgan", "critic", TEXT, r"critic: dcgan handles images .* sequences of shape \(6, 5\); for sequences use charcnn or mlp"),
    ("dcgan", "generator", SampleSpec((3, 30, 30), "image"),
     r"gen: dcgan makes square images .* but the data's images are 30×30"),
    ("dcgan", "critic", SampleSpec((3, 32, 64), "image"), r"images are 32×64"),
    ("resnet", "critic", POINTS, r"critic: resnet handles images \(C, H, W\), but the data's "
                                 r"samples are points of shape \(2,\); for points use mlp, or "
                                 r"give resnet data it handles: --data mnist, --data digits, "
                                 r"--data cifar10 --set data.path=DIR, or --data images"),
    ("charcnn", "generator", RGB_32,
     r"gen: charcnn handles sequences \(T, V\), but the data's samples are images of shape "
     r"\(3, 32, 32\); for images use dcgan, resnet or mlp"),
    ("charcnn", "critic", SampleSpec((6,), "sequence"),
     r"critic: charcnn handles sequences \(T, V\), but .* sequences of shape \(6,\)"),
    ("mlp", "generator", SampleSpec((4, 4), "graph"),
     r"gen: mlp handles points \(D,\) or images \(C, H, W\) or sequences \(T, V\), but the "
     r"data's samples are of kind 'graph', shape \(4, 4\)$"),
])
def test_a_net_refuses_data_it_cannot_make_naming_both(registry, name, kind, spec, message):
    with pytest.raises(WganKitError, match=message):
        build(registry, kind, name, spec, {})


def test_resnet_critic_refuses_more_down_blocks_than_the_images_allow(registry):
    with pytest.raises(WganKitError, match=r"critic.down_blocks: 4 halvings of 32×32 images leave "
                                           r"less than 4×4; at most 3"):
        build(registry, "critic", "resnet", RGB_32, {"down_blocks": 4})


def test_charcnn_generator_emits_a_distribution_over_the_vocabulary_at_each_position(registry):
    generator = build(registry, "generator", "charcnn", SampleSpec((32, 7), "sequence"),
                      {"filters": 4})
    text = generator(torch.randn(5, 128))
    assert text.shape == (5, 32, 7) and (text > 0).all()
    torch.testing.assert_close(text.sum(-1), torch.ones(5, 32))
    blocks = [m for m in generator.modules() if isinstance(m, ResidualBlock1d)]
    assert len(blocks) == 5


def weighted_layers(net: torch.nn.Module) -> int:
    return sum(isinstance(m, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d))
               for m in net.modules())


def drawn(registry, kind: str, options: dict) -> dict:
    return registry.get(kind, "random").options.model_validate(options).model_dump()


@pytest.mark.parametrize("kind", ["generator", "critic"])
def test_random_architecture_is_reproducible_from_its_seed_and_varies_with_it(registry, kind):
    first, again = (build(registry, kind, "random", RGB_32, {"arch_seed": 3}) for _ in range(2))
    assert str(first) == str(again)
    assert (sum(p.numel() for p in first.parameters())
            == sum(p.numel() for p in again.parameters()))
    choices = [drawn(registry, kind, {"arch_seed": seed}) for seed in range(8)]
    assert len({tuple(sorted(c.items())) for c in choices}) >= 6
    for c in choices:
        assert c["nonlinearity"] in NONLINEARITIES and c["depth"] in DEPTHS
        assert c["filters"] in FILTERS and c["norm"] in ("batch", "layer", "none")
    if kind == "critic":  # "batch norm on" in a critic is layer norm unless asked otherwise
        assert {c["norm"] for c in choices} == {"layer", "none"}


def test_random_generator_and_critic_draw_separately_and_an_override_keeps_the_other_draws(
        registry):
    generators = [drawn(registry, "generator", {"arch_seed": s}) for s in range(8)]
    critics = [drawn(registry, "critic", {"arch_seed": s}) for s in range(8)]
    assert [g["depth"] for g in generators] != [c["depth"] for c in critics]
    fixed = drawn(registry, "critic", {"arch_seed": 5, "depth": 20, "filters": 2})
    assert fixed == {**critics[5], "depth": 20, "filters": 2}


@pytest.mark.parametrize("seed", range(8))
def test_every_drawn_architecture_has_its_depth_and_trains_under_the_penalty(registry, seed):
    """Tiny filters; nonlinearity, depth and norm as drawn. Depth = linear + convolutions."""
    torch.manual_seed(seed)
    options = {"arch_seed": seed, "filters": 2}
    generator = build(registry, "generator", "random", RGB_32, options)
    critic = build(registry, "critic", "random", RGB_32, options)
    assert weighted_layers(generator) == drawn(registry, "generator", options)["depth"]
    assert weighted_layers(critic) == drawn(registry, "critic", options)["depth"]
    x = generator(torch.randn(3, generator.latent_dim))
    assert x.shape == (3, *RGB_32.shape)
    assert_every_weight_learns_under_the_penalty(generator, critic, x)


def test_a_runs_config_records_the_drawn_random_architecture(registry):
    trainer = wgan_kit.compose(gen="random", critic="random", constraint="gp",
                               data=RandomSamples(RGB_32), registry=registry, steps=1,
                               options={"gen.arch_seed": 1, "gen.filters": 2,
                                        "critic.arch_seed": 1, "critic.filters": 2})
    assert "\n[gen]\nname = \"wgan-kit:random\"\narch_seed = 1\nlatent_dim = 128\nnonlinearity = \"tanh\"\n" \
           "depth = 12\nnorm = \"none\"\nfilters = 2\n" in trainer.config.to_toml()
    assert trainer.config.parts["critic"].options.describe() == (
        "leaky_relu, depth 4, norm layer, 2 base filters")
    with pytest.raises(WganKitError, match=r"critic: batch normalization .* constraint 'gp'"):
        wgan_kit.compose(gen="random", critic="random", constraint="gp", registry=registry,
                         data=RandomSamples(RGB_32), steps=1,
                         options={"critic.arch_seed": 1, "critic.filters": 2,
                                  "critic.norm_when_sampled": "batch"})


@pytest.mark.parametrize("kind", ["generator", "critic"])
def test_random_width_divisor_shrinks_the_drawn_filters_and_keeps_every_other_draw(registry, kind):
    full, shrunk = (build(registry, kind, "random", RGB_32, {"arch_seed": 4, **extra})
                    for extra in ({}, {"width_divisor": 8}))
    assert weighted_layers(full) == weighted_layers(shrunk)
    assert ({type(m) for m in full.modules()} == {type(m) for m in shrunk.modules()})
    widths = [m.out_channels for m in full.modules() if isinstance(m, torch.nn.Conv2d)]
    shrunk_widths = [m.out_channels for m in shrunk.modules() if isinstance(m, torch.nn.Conv2d)]
    assert shrunk_widths[:-1 if kind == "generator" else None] == [
        max(1, w // 8) for w in widths[:-1 if kind == "generator" else None]]


def test_a_dcgan_option_that_cannot_change_the_net_for_these_images_says_so(registry):
    """On 8×8 images (the digits) each net has a single stride-2 convolution: the critic's norm and
    the generator's constant filter count change nothing, and a user who sets them is told."""
    grey_8 = SampleSpec((1, 8, 8), "image", value_range=(-1.0, 1.0))
    with pytest.warns(UserWarning, match=r"critic.norm: has no effect on 8×8 images"):
        build(registry, "critic", "dcgan", grey_8, {"norm": "none"})
    with pytest.warns(UserWarning, match=r"gen.constant_filters: has no effect on 8×8 images"):
        build(registry, "generator", "dcgan", grey_8, {"constant_filters": True})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # defaults, and options that do matter, say nothing
        build(registry, "critic", "dcgan", grey_8, {})
        build(registry, "critic", "dcgan", grey_8, {"norm": "none", "extra_layers": 1})
        build(registry, "critic", "dcgan", GREY_28, {"norm": "none"})
        build(registry, "generator", "dcgan", GREY_28, {"constant_filters": True})


@pytest.mark.parametrize("init", ["he", "normal", "torch"])
def test_mlp_init_is_the_released_codes_its_ports_or_torchs(registry, init):
    """he: He-uniform hidden layers, Glorot output, zero biases (the released TF gan_toy.py);
    normal: N(0, 0.02) weights, zero biases (caogang/wgan-gp's weights_init); torch: nn.Linear's."""
    critic = build(registry, "critic", "mlp", POINTS, {"init": init})
    linears = [m for m in critic.modules() if isinstance(m, torch.nn.Linear)]
    hidden, output = linears[1], linears[-1]  # 512 -> 512, 512 -> 1
    bound = {"he": math.sqrt(6 / 512), "normal": None, "torch": 1 / math.sqrt(512)}[init]
    if init == "normal":
        assert abs(hidden.weight.std().item() - 0.02) < 0.001
    else:
        assert hidden.weight.abs().max() <= bound and hidden.weight.abs().max() > 0.95 * bound
    assert (output.bias.abs().sum() == 0) == (init != "torch")
    if init == "he":
        assert output.weight.abs().max() <= math.sqrt(6 / 513)  # Glorot-uniform, fan 512 + 1
