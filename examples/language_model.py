"""Section 5.5 / Table 4: a character-level language model from a continuous generator.

Claim (WGAN-GP Section 5.5 and its appendix): a 1-D CNN generator whose softmax outputs go straight
into the critic, with no sampling step, learns to spell plausible character sequences under WGAN-GP;
under the standard GAN objective it does not, because a discriminator can tell one-hot real
sequences from softmax fakes and so gives the generator no useful signal.

What this script does: it trains the `charcnn` generator and critic on 32-character lines of the
`text` source's Shakespeare corpus twice, with the `wgan-gp` recipe (Algorithm 1: λ = 10,
n_critic = 5, Adam 1e-4, β = (0, 0.9)) and with the `dcgan` recipe (the standard GAN, no
constraint, Adam 2e-4, β = (0.5, 0.999), n_critic = 1). At intervals of generator steps it draws
lines from fixed latent points (argmax per character, as the paper decodes) and measures the
Jensen–Shannon divergence between the 1- to 4-gram distributions of generated and held-out lines
(`wgan_kit.evaluation.evaluate`, the released code's js1…js4), next to the same divergence between
two held-out sets (the floor for that many lines).

How it differs from the paper: Shakespeare's lines instead of the Billion Word sentences; nets of
64 channels and 2 residual blocks instead of 512 and 5; 1,900 generator steps instead of 200,000;
the Algorithm 1 settings rather than the released code's (β = (0.5, 0.9), n_critic = 10).

    python examples/language_model.py --quick --out /tmp/lm   # seconds; numbers mean nothing
    python examples/language_model.py --threads 2 --seed 0    # the full run (~7 min, 2 threads)

`--steps N` sets the generator steps per objective (a multiple of 100).
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

import experiment
import wgan_kit
from wgan_kit.evaluation import NGRAM_ORDERS, evaluate

FULL_STEPS = 1900  # generator steps per objective (--steps)
parser = experiment.command_line("language_model", __doc__)
parser.add_argument("--steps", type=int, default=None,
                    help=f"generator steps per objective, a multiple of the scoring interval "
                         f"(default: {FULL_STEPS}, every 100; 6, every 3, with --quick)")
args = parser.parse_args()

# --- settings: the full run, or a tiny one that only checks the script end to end -------------
if args.quick:
    steps, every, n_eval, filters, blocks = 6, 3, 64, 8, 1
else:
    steps, every, n_eval, filters, blocks = FULL_STEPS, 100, 1000, 64, 2
if args.steps is not None:
    if args.steps < every or args.steps % every:
        parser.error(f"--steps {args.steps}: must be a positive multiple of the scoring "
                     f"interval, {every}")
    steps = args.steps
out = experiment.prepare(args)
SAMPLES_SHOWN = 10
ARMS = {"WGAN-GP": "wgan-gp", "standard GAN": "dcgan"}  # label: recipe
options = {"data.corpus": "shakespeare", "data.seq_len": 32,
           "gen.filters": filters, "gen.blocks": blocks,
           "critic.filters": filters, "critic.blocks": blocks}

# --- train each arm, stopping every `every` generator steps to score and sample ------------------
curves: dict[str, list[dict[str, float]]] = {}
samples: dict[str, dict[int, list[str]]] = {}
seconds: dict[str, float] = {}
for label, recipe in ARMS.items():
    trainer = wgan_kit.compose(gen="charcnn", critic="charcnn", data="text", recipe=recipe,
                               steps=every, seed=args.seed, options=options)
    data = trainer.parts.data
    shown_latent = torch.randn(SAMPLES_SHOWN, trainer.generator.latent_dim,
                               generator=torch.Generator().manual_seed(args.seed))
    curves[label], samples[label] = [], {}
    started = time.perf_counter()
    for checkpoint in range(every, steps + 1, every):
        trainer.change_run(steps=checkpoint)  # train() continues up to run.steps steps
        trainer.train()
        scores = evaluate(trainer, n_eval, seed=args.seed).to_json()["metrics"]
        curves[label].append({"step": trainer.step, **scores})
        samples[label][trainer.step] = data.decode(trainer.sample(SAMPLES_SHOWN,
                                                                  latent=shown_latent))
        print(f"{label} step {trainer.step}: " + ", ".join(
            f"JS-{n} {scores[f'js{n}']:.3f}" for n in NGRAM_ORDERS), flush=True)
    seconds[label] = time.perf_counter() - started
real_lines = data.decode(data.held_out(SAMPLES_SHOWN, device=trainer.device))

# --- figure: JS-1 ... JS-4 against generator steps, both objectives, real-vs-real floor ----------
figure, axes = plt.subplots(1, len(NGRAM_ORDERS), figsize=(13, 3.2), sharex=True)
for axis, n in zip(axes, NGRAM_ORDERS):
    for (label, points), colour in zip(curves.items(), ("C0", "C3")):
        axis.plot([p["step"] for p in points], [p[f"js{n}"] for p in points], "o-", ms=3,
                  color=colour, label=label)
        axis.plot([p["step"] for p in points], [p[f"js{n}_real_baseline"] for p in points],
                  ":", color="gray", label="real vs real" if colour == "C0" else None)
    axis.set(title=f"JS-{n}", xlabel="generator step", ylim=(0, 1))
axes[0].set_ylabel("JS divergence (bits)")
axes[0].legend(fontsize=8)
figure.tight_layout()
figure.savefig(out / "js_curves.png", dpi=90)

# --- results ------------------------------------------------------------------------------------
final = {label: points[-1] for label, points in curves.items()}
baseline = {f"js{n}": curves["WGAN-GP"][-1][f"js{n}_real_baseline"] for n in NGRAM_ORDERS}
rows = "\n".join(f"| {label} | " + " | ".join(f"{point[f'js{n}']:.3f}" for n in NGRAM_ORDERS)
                 + f" | {seconds[label]:.0f} s |" for label, point in final.items())
rows += ("\n| real vs real | " + " | ".join(f"{baseline[f'js{n}']:.3f}" for n in NGRAM_ORDERS)
         + " | |")


def sample_block(label: str) -> str:
    return "\n\n".join(f"step {step}:\n\n```\n" + "\n".join(lines) + "\n```"
                       for step, lines in samples[label].items())


body = f"""
`charcnn` generator and critic ({filters} channels, {blocks} residual blocks) on 32-character
lines of the Shakespeare corpus, {steps} generator steps per objective, seed {args.seed}.
JS-n: Jensen–Shannon divergence in bits between the n-gram distributions of {n_eval} generated
and {n_eval} held-out lines (lower is better; "real vs real" is two held-out sets).

![JS curves](js_curves.png)

| objective | JS-1 | JS-2 | JS-3 | JS-4 | training time |
| --- | --- | --- | --- | --- | --- |
{rows}

Held-out real lines:

```
{chr(10).join(real_lines)}
```

## WGAN-GP samples (argmax per character, fixed latent points)

{sample_block("WGAN-GP")}

## Standard GAN samples

{sample_block("standard GAN")}
"""
numbers = {"steps": steps, "filters": filters, "blocks": blocks, "n_eval": n_eval,
           "seed": args.seed, "curves": curves, "final": final, "real_baseline": baseline,
           "training_seconds": seconds,
           "samples": {label: {str(step): lines for step, lines in by_step.items()}
                       for label, by_step in samples.items()},
           "real_lines": real_lines}
experiment.write_results(out, "Character-level language model (Section 5.5, Table 4)", body,
                         numbers)
