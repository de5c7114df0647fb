"""wgan-kit on a CUDA GPU, proven in one command: correctness against the CPU, speed against the
plain loop, a short real run, and the `pytest -m cuda` tests.

    python benchmarks/gpu_check.py --out DIR                        # on the GPU: ~5 of 8 minutes
    python benchmarks/gpu_check.py --device cpu --quick --out DIR   # every section, tiny (CI)

It writes DIR/gpu_check.json (every figure, and why anything was skipped) and DIR/gpu_check.md
(the table it also prints), rewriting both after each section so that a run cut short by a timeout
keeps what it measured. The exit status is 1 when a correctness row or a `cuda` test failed, or a
section broke.
benchmarks/README.md has the prepared command that installs wgan-kit on the GPU machine first.

Held to (each row states its own): fp32 results on the device equal the CPU's within a relative
error ‖a − b‖ / ‖b‖ of 1e-4, TF32 off; bf16 and fp16 toy runs stay finite and end with a
Wasserstein estimate within 35% + 0.05 of fp32's; the preflight's memory estimate lies within a
factor of two of the measured peak. Speed is reported against its targets, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import math
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

import wgan_kit

# wgan-kit's internal modules, all imported here (the public API serves everything else):
from wgan_kit.core.engine.acceleration import PenaltyPass
from wgan_kit.evaluation.benchmark import SyntheticData, synthetic_batch
from wgan_kit.training.preflight import run_preflight

sys.path.insert(0, str(Path(__file__).parent))
from compare import CASES, IMAGE, compare  # noqa: E402

ROOT = Path(__file__).parents[1]
SPEED_CASES = {**CASES, "cifar-resnet-256": dataclasses.replace(CASES["cifar-resnet"],
                                                                 batch_size=256)}
SEQUENCE = wgan_kit.SampleSpec(shape=(32, 32), kind="sequence", value_range=(0.0, 1.0))
CRITIC_SPECS = {"mlp": CASES["toy-mlp"].spec, "dcgan": IMAGE, "resnet": IMAGE,
                "charcnn": SEQUENCE}
# Nets small enough for one CPU thread in --quick; the full check uses each net's defaults.
TINY_NETS = {"mlp": {"hidden": 16}, "dcgan": {"filters": 8}, "resnet": {"filters": 8},
             "charcnn": {"filters": 8, "blocks": 1}}
FP32_TOLERANCE = 1e-4  # relative error; fp32 arithmetic lands far below (TF32: near 3e-4)
W_BAND = (0.35, 0.05)  # |W - W_fp32| <= 0.35 |W_fp32| + 0.05
MEMORY_BAND = (0.5, 2.0)  # preflight estimate / measured peak
TARGETS = {"speedup_bf16_cifar_resnet": 1.5, "never_slower": 1.0, "matmul_fraction": 0.30}
SECTIONS = ("environment", "correctness", "memory", "cuda_tests", "speed", "real_run", "compile")


@dataclasses.dataclass
class Row:
    """One correctness result: what was checked, on which case, and what was seen."""

    check: str
    case: str
    status: str  # pass, fail or skip
    measured: str
    limit: str = ""
    values: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Check:
    """The run's settings and everything measured so far (the JSON file)."""

    device: torch.device
    quick: bool
    out: Path
    registry: wgan_kit.Registry
    report: dict[str, Any]

    def nets(self, name: str) -> dict[str, Any]:
        return TINY_NETS[name] if self.quick else {}

    def rows(self) -> list[dict[str, Any]]:
        return self.report.setdefault("correctness", [])

    def add(self, row: Row) -> None:
        self.rows().append(dataclasses.asdict(row))


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu().flatten(), b.detach().double().cpu().flatten()
    return ((a - b).norm() / b.norm().clamp(min=1e-30)).item()


@contextlib.contextmanager
def exact_fp32() -> Iterator[None]:
    """fp32 matmuls and convolutions without TF32, which a run turns on (`composition.build`)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def environment(check: Check) -> None:
    device = check.device
    info: dict[str, Any] = {
        "python": platform.python_version(), "platform": platform.platform(),
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cpu_threads": torch.get_num_threads(), "wgan_kit": wgan_kit.__version__,
        "wgan_kit_path": str(Path(wgan_kit.__file__).parent),
        "git_commit": _command(["git", "-C", str(ROOT), "rev-parse", "HEAD"]),
        "dependencies": _dependencies(),
    }
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        info |= {"gpu": properties.name, "capability": f"{properties.major}.{properties.minor}",
                 "gpu_memory_gib": round(properties.total_memory / 2**30, 1),
                 "bf16": torch.cuda.is_bf16_supported(including_emulation=False),
                 "driver": _command(["nvidia-smi", "--query-gpu=driver_version",
                                     "--format=csv,noheader"])}
    else:
        info |= {"gpu": None, "driver": None, "reason": f"--device {device}: no GPU in use"}
    check.report["environment"] = info


def _command(arguments: list[str]) -> str | None:
    try:
        done = subprocess.run(arguments, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout else None


def _dependencies() -> list[dict[str, Any]]:
    """Each requirement of the installed wgan-kit, the version found, and whether it fits (the
    project was installed with --no-deps on the GPU machine, so nothing else checked this)."""
    from packaging.requirements import Requirement

    found = []
    for text in metadata.requires("wgan-kit") or []:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an optional extra
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            version = None
        found.append({"name": requirement.name, "required": str(requirement.specifier),
                      "installed": version,
                      "ok": version is not None and requirement.specifier.contains(
                          version.split("+")[0], prereleases=True)})
    return found


def correctness(check: Check) -> None:
    with exact_fp32():
        for name in CRITIC_SPECS:
            penalty_on_device_and_cpu(check, name)
        for name in CRITIC_SPECS:
            lean_against_torchs(check, name)
    toy_precisions(check)
    checkpoints(check)


def critic_loss_terms(critic: torch.nn.Module, constraint: Any, batches: list[torch.Tensor],
                      *, lean: bool) -> dict[str, torch.Tensor]:
    """A critic step's loss as the loop computes it, with the penalty taken at given points
    (real = fake = x̂, so that no device's random ε enters), and its gradients."""
    real, fake, interpolates = batches
    critic.zero_grad(set_to_none=True)
    penalty = constraint.penalty(
        PenaltyPass(critic, contextlib.nullcontext, None, lean_double_backward=lean),
        interpolates, interpolates)
    wasserstein = critic(real).float().mean() - critic(fake).float().mean()
    (penalty.value - wasserstein).backward()
    gradients = [torch.zeros_like(p) if p.grad is None else p.grad for p in critic.parameters()]
    return {"penalty": penalty.value.detach(), "grad_norm": penalty.grad_norm,
            "wasserstein": wasserstein.detach(),
            "gradients": torch.cat([g.flatten() for g in gradients])}


def _critic_and_batches(check: Check, name: str, batch: int
                        ) -> tuple[torch.nn.Module, Any, list[torch.Tensor]]:
    component = check.registry.get("critic", name)
    spec = CRITIC_SPECS[name]
    torch.manual_seed(0)
    critic = component.factory(component.options(**check.nets(name)), spec)
    constraint = check.registry.get("constraint", "gp").factory(
        check.registry.get("constraint", "gp").options())
    batches = [synthetic_batch(spec, batch, seed=seed, device=torch.device("cpu"))
               for seed in (0, 1, 2)]
    if spec.kind == "image":  # as a run lays images out (run.channels_last)
        critic.to(memory_format=torch.channels_last)
        batches = [x.contiguous(memory_format=torch.channels_last) for x in batches]
    return critic, constraint, batches


def _compared(terms: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]
              ) -> tuple[dict[str, float], bool, str]:
    """Relative errors of each term, whether all are within tolerance, and the largest in words."""
    errors = {key: relative_error(terms[key], reference[key]) for key in reference}
    worst = max(errors, key=errors.__getitem__)
    return (errors, all(e <= FP32_TOLERANCE for e in errors.values()),
            f"largest relative error {errors[worst]:.1e} ({worst})")


def penalty_on_device_and_cpu(check: Check, name: str) -> None:
    critic, constraint, batches = _critic_and_batches(check, name, 4 if check.quick else 16)
    reference = critic_loss_terms(critic, constraint, batches, lean=True)
    moved = critic.to(check.device)
    terms = critic_loss_terms(moved, constraint, [x.to(check.device) for x in batches], lean=True)
    errors, ok, measured = _compared(terms, reference)
    note = "" if check.device.type == "cuda" else "; the device is the CPU: a run of the code path"
    check.add(Row(f"penalty and gradients, {check.device.type} vs cpu, fp32", name,
                  "pass" if ok else "fail", measured + note,
                  f"relative error <= {FP32_TOLERANCE:g} (TF32 off)", errors))


def lean_against_torchs(check: Check, name: str) -> None:
    critic, constraint, batches = _critic_and_batches(check, name, 4 if check.quick else 16)
    critic.to(check.device)
    batches = [x.to(check.device) for x in batches]
    reference = critic_loss_terms(critic, constraint, batches, lean=False)
    errors, ok, measured = _compared(critic_loss_terms(critic, constraint, batches, lean=True),
                                     reference)
    check.add(Row(f"lean double backward vs torch's, {check.device.type}, fp32", name,
                  "pass" if ok else "fail", measured,
                  f"relative error <= {FP32_TOLERANCE:g} (TF32 off)", errors))


def toy_precisions(check: Check) -> None:
    """200 steps on 8 Gaussians at each precision, logged in four windows: the loop refuses a
    non-finite window mean, which one non-finite step makes; W: the last window's mean."""
    steps = 12 if check.quick else 200
    estimates: dict[str, float] = {}
    for precision in ("fp32", "bf16", "fp16"):
        if precision == "fp16" and check.device.type != "cuda":
            check.add(Row(f"{steps} toy steps, fp16", "toy-mlp", "skip",
                          "fp16 is for CUDA: wgan-kit refuses it on other devices"))
            continue
        trainer = wgan_kit.compose(
            data="8gaussians", precision=precision, steps=steps, log_every=steps // 4,
            heldout_every=0, seed=0, device=str(check.device), registry=check.registry,
            options=_net_options(check, CASES["toy-mlp"]))
        try:
            metrics = trainer.train()
        except wgan_kit.WganKitError as exc:
            check.add(Row(f"{steps} toy steps, {precision}", "toy-mlp", "fail", str(exc)))
            continue
        finite = all(p.isfinite().all() for net in (trainer.generator, trainer.critic)
                     for p in net.parameters())
        estimates[precision] = metrics["wasserstein"]
        values = {"wasserstein": estimates[precision],
                  "gradient_scales": [s.get_scale() for s in trainer.acceleration.scalers.values()]}
        if precision == "fp32":
            check.add(Row(f"{steps} toy steps, fp32 (the band's reference)", "toy-mlp",
                          "pass" if finite else "fail", f"W {estimates['fp32']:.4f}",
                          "finite", values))
            continue
        reference = estimates.get("fp32", math.nan)
        allowed = W_BAND[0] * abs(reference) + W_BAND[1]
        ok = finite and abs(estimates[precision] - reference) <= allowed
        check.add(Row(f"{steps} toy steps, {precision}", "toy-mlp", "pass" if ok else "fail",
                      f"W {estimates[precision]:.4f} vs fp32 {reference:.4f}; "
                      f"{'all finite' if finite else 'non-finite weights'}",
                      f"finite; |W - W_fp32| <= {allowed:.3f}", values))


def checkpoints(check: Check) -> None:
    """A run checkpointed halfway and resumed ends bit for bit as one that never stopped (nets,
    optimizer state and random streams); its checkpoint loads on the CPU unchanged."""
    half = 3 if check.quick else 20
    settings = dict(data="8gaussians", seed=0, device=str(check.device), log_every=half,
                    checkpoint_every=half, registry=check.registry,
                    options=_net_options(check, CASES["toy-mlp"]))
    with tempfile.TemporaryDirectory() as folder:
        unbroken = wgan_kit.compose(steps=2 * half, **settings)
        unbroken.train(out=Path(folder) / "unbroken")
        broken = wgan_kit.compose(steps=half, **settings)
        broken.train(out=Path(folder) / "broken")
        saved = load_file(str(broken.folder.latest_checkpoint()))  # the file as written
        on_cpu = wgan_kit.resume(Path(folder) / "broken", device="cpu", registry=check.registry)
        resumed = wgan_kit.resume(Path(folder) / "broken", steps=2 * half,
                                  registry=check.registry)
        resumed.train()
        loaded, ended, expected = (t.state()[0] for t in (on_cpu, resumed, unbroken))
    differing = sorted(k for k in expected if not torch.equal(ended[k].cpu(), expected[k].cpu()))
    cuda_streams = [k for k in saved if k.startswith("rng.cuda")]
    check.add(Row(f"checkpoint at step {half} resumed on {check.device.type}", "toy-mlp",
                  "pass" if not differing and set(ended) == set(expected) else "fail",
                  f"{len(expected) - len(differing)}/{len(expected)} tensors bit-identical to an "
                  f"unbroken run ({len(cuda_streams)} CUDA random streams saved)"
                  + (f"; differ: {', '.join(differing[:5])}" if differing else ""),
                  "bit-identical", {"differing": differing}))
    mismatched = sorted(k for k in saved
                        if k not in loaded or not torch.equal(saved[k], loaded[k]))
    sampled = on_cpu.sample(8)
    ok = not mismatched and sampled.device.type == "cpu" and bool(sampled.isfinite().all())
    check.add(Row(f"checkpoint written on {check.device.type} loaded on cpu", "toy-mlp",
                  "pass" if ok else "fail",
                  f"{len(saved) - len(mismatched)}/{len(saved)} tensors bit-identical; "
                  f"samples on {sampled.device.type}", "bit-identical",
                  {"differing": mismatched}))


def memory(check: Check) -> None:
    if check.device.type != "cuda":
        check.add(Row("preflight memory estimate vs max_memory_allocated", "cifar-resnet", "skip",
                      "needs CUDA: the preflight estimates no memory on "
                      f"{check.device.type}, and torch.cuda.max_memory_allocated has no "
                      "counterpart"))
        return
    for name, precision in (("cifar-resnet", "fp32"), ("cifar-resnet-256", "fp32"),
                            ("cifar-resnet", "bf16")):
        gc.collect()
        torch.cuda.empty_cache()
        trainer = case_trainer(check, SPEED_CASES[name], precision, steps=3)
        found = next(c for c in run_preflight(trainer).checks if c.name == "memory")
        estimate = float(re.search(r"about ([\d.]+) GiB", found.measured).group(1))
        torch.cuda.synchronize(check.device)
        torch.cuda.reset_peak_memory_stats(check.device)
        trainer.train()
        peak = torch.cuda.max_memory_allocated(check.device) / 2**30
        ratio = estimate / peak
        low, high = MEMORY_BAND
        check.add(Row(f"preflight memory estimate vs max_memory_allocated, {precision}", name,
                      "pass" if low <= ratio <= high else "fail",
                      f"estimate {estimate:.2f} GiB, measured peak {peak:.2f} GiB over 3 steps "
                      f"(x{ratio:.2f})", f"estimate / peak in [{low}, {high}]",
                      {"estimate_gib": estimate, "peak_gib": round(peak, 3), "ratio": ratio}))
        del trainer


def case_trainer(check: Check, case: Any, precision: str, **run: Any) -> wgan_kit.Trainer:
    """wgan-kit's trainer for one of compare.py's cases, as compare.py composes it."""
    return wgan_kit.compose(gen=case.gen, critic=case.critic, data=SyntheticData(case.spec),
                            options=_net_options(check, case), registry=check.registry,
                            batch_size=case.batch_size, precision=precision, seed=0,
                            device=str(check.device), **run)


def _net_options(check: Check, case: Any) -> dict[str, Any]:
    return {f"{part}.{key}": value for part, net in (("gen", case.gen), ("critic", case.critic))
            for key, value in check.nets(net).items()}


def cuda_tests(check: Check) -> None:
    """The tests marked `cuda`: the whole suite's on a GPU; --quick collects
    tests/core/engine/test_cuda.py alone (collecting every test file takes longer than the rest of
    the quick check)."""
    where = ROOT / "tests" / ("core/engine/test_cuda.py" if check.quick else "")
    with tempfile.TemporaryDirectory() as folder:
        junit = Path(folder) / "junit.xml"
        done = subprocess.run([sys.executable, "-m", "pytest", "-m", "cuda", "-q",
                               "-p", "no:cacheprovider", f"--junitxml={junit}", str(where)],
                              capture_output=True, text=True, timeout=400, cwd=ROOT)
        counts, failed = {"tests": 0, "failures": 0, "errors": 1, "skipped": 0}, ["pytest"]
        if junit.exists():  # else pytest itself broke: its output says how
            suite = ElementTree.parse(junit).getroot()
            suite = suite if suite.tag == "testsuite" else suite[0]
            counts = {key: int(suite.get(key, 0)) for key in counts}
            failed = [f"{case.get('classname')}.{case.get('name')}"
                      for case in suite.iter("testcase")
                      if case.find("failure") is not None or case.find("error") is not None]
    check.report["cuda_tests"] = {
        "command": f"python -m pytest -m cuda {where.relative_to(ROOT)}", "exit_status":
        done.returncode, **counts, "failed": failed,
        "output_tail": (done.stdout + done.stderr)[-3000:]}


def speed(check: Check) -> None:
    rows = check.report.setdefault("speed", {}).setdefault("rows", [])
    timing = argparse.Namespace(device=str(check.device), seed=0, set=[],
                                warmup=1 if check.quick else 5, rounds=2 if check.quick else 5,
                                gen_steps=1 if check.quick else 20)
    # --quick: the cases the throughput row needs, on batches of 8.
    chosen = ("toy-mlp", "cifar-resnet-256") if check.quick else SPEED_CASES
    for name in chosen:
        case = SPEED_CASES[name]
        if check.quick:
            case = dataclasses.replace(case, batch_size=8)
        timing.set = [f"{key}={value}" for key, value in _net_options(check, case).items()]
        for precision in ("fp32", "bf16"):
            result = compare(case, precision, timing, check.registry)
            images = case.batch_size * result["n_critic"]
            target = TARGETS["speedup_bf16_cifar_resnet" if (name, precision) == (
                "cifar-resnet", "bf16") else "never_slower"]
            rows.append({"case": name, "batch": case.batch_size, "precision": precision,
                         **result, "ours_images_s": result["ours_it_s"] * images,
                         "plain_images_s": result["plain_it_s"] * images, "target": target,
                         "meets_target": (result["ratio"] >= target
                                          if check.device.type == "cuda" else None)})
            _write(check)
        fp32, bf16 = rows[-2:]
        bf16["ours_bf16_over_plain_fp32"] = bf16["ours_it_s"] / fp32["plain_it_s"]
    throughput(check)


def throughput(check: Check) -> None:
    """The ResNet's bf16 step at batch 256 against the device's measured bf16 matmul rate:
    FLOPs of one generator step (n_critic critic steps and one generator step, counted once by
    torch's FLOP counter) times the steps per second of the speed rows."""
    case = SPEED_CASES["cifar-resnet-256"]
    if check.quick:
        case = dataclasses.replace(case, batch_size=8)
    trainer = case_trainer(check, case, "bf16", steps=1)
    with MatrixFlops() as counter:
        trainer.train()
    flops = counter.total
    peak = matmul_flops_per_s(check.device, 512 if check.quick else 8192)
    row = next(r for r in check.report["speed"]["rows"]
               if r["case"] == "cifar-resnet-256" and r["precision"] == "bf16")
    achieved = flops * row["ours_it_s"]
    check.report["speed"]["throughput"] = {
        "case": "cifar-resnet-256", "precision": "bf16", "flops_per_gen_step": flops,
        "gen_steps_s": row["ours_it_s"], "achieved_tflops": achieved / 1e12,
        "matmul_bf16_tflops": peak / 1e12, "fraction": achieved / peak,
        "target": TARGETS["matmul_fraction"],
        "meets_target": (achieved / peak >= TARGETS["matmul_fraction"]
                         if check.device.type == "cuda" else None)}


class MatrixFlops(TorchDispatchMode):
    """The FLOPs of the matrix products and convolutions run inside, by torch's own formulas.
    Not torch's FlopCounterMode: the module tracker it enters hooks each module's inputs, and
    under the penalty's `autograd.grad` of a leaf input that hook raises ("A leaf node was passed
    to _will_engine_execute_node", torch 2.13)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func.overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def matmul_flops_per_s(device: torch.device, n: int) -> float:
    """The median rate of an n×n×n bf16 matrix product on random data."""
    a, b = (torch.randn(n, n, device=device, dtype=torch.bfloat16) for _ in range(2))
    times = []
    for i in range(25):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        if i >= 5:  # warm-up: library handles, kernel choice
            times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times)


def real_run(check: Check) -> None:
    """`wgan-kit run` with the CIFAR ResNet recipe on synthetic 32×32 images (a safetensors file,
    so the real data path runs: shuffled batches, pinned-memory copies), stopped by SIGTERM after
    `seconds` of training; the rates are those its progress lines print."""
    seconds = 2 if check.quick else 60
    with tempfile.TemporaryDirectory() as folder:
        images = Path(folder) / "images.safetensors"
        generator = torch.Generator().manual_seed(0)
        save_file({"x": torch.randint(0, 256, (256 if check.quick else 10_000, 3, 32, 32),
                                      dtype=torch.uint8, generator=generator)}, str(images))
        command = [sys.executable, "-m", "wgan_kit", "run", "--recipe", "wgan-gp-cifar-resnet",
                   "--gen", "resnet", "--critic", "resnet", "--data", "tensors",
                   "--set", f"data.path={images}", "--device", str(check.device), "--quiet",
                   "--out", str(Path(folder) / "run"),
                   "--set", f"run.log_every={1 if check.quick else 50}"]
        if check.quick:
            command += ["--batch-size", "8", "--threads", "1", "--set",
                        "run.generator_batch_size=8", "--set", "gen.filters=8", "--set",
                        "critic.filters=8"]
        log = Path(folder) / "log"
        with log.open("w") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                       cwd=ROOT)
            if _appears(log, "training from step", process, timeout=300):
                time.sleep(seconds)
                process.send_signal(signal.SIGTERM)
            try:
                status = process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                status = process.wait()
        text = log.read_text()
        checkpoints = sorted(p.name for p in (Path(folder) / "run").glob("*/*.safetensors"))
    rates = [float(r) for r in re.findall(r"^step \d+/\d+\s+([\d.]+) it/s", text, re.M)]
    steps = [int(s) for s in re.findall(r"^step (\d+)/", text, re.M)]
    check.report["real_run"] = {
        "command": " ".join(["wgan-kit", *command[3:]]), "trained_seconds": seconds,
        "exit_status": status, "stopped_cleanly": status == 143 and bool(checkpoints),
        "checkpoints": checkpoints, "last_step": max(steps, default=0),
        "progress_it_s": rates,
        # The first line includes cuDNN's kernel search and the first allocations.
        "median_it_s": statistics.median(rates[1:]) if len(rates) > 1 else None,
        "log_tail": text[-2000:]}


def _appears(log: Path, text: str, process: subprocess.Popen, *, timeout: float) -> bool:
    """Whether `text` shows up in `log` while `process` runs, within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if text in log.read_text():
            return True
        time.sleep(0.2)
    return False


def compiled(check: Check) -> None:
    """`run.compile` either trains (finite, its W beside eager's) or refuses with a WganKitError;
    anything else fails. The CPU's C++ compile of even the toy MLP takes ~30 s on one thread, so
    --quick skips it."""
    if check.quick:
        check.add(Row("run.compile trains or refuses clearly", "toy-mlp", "skip",
                      "--quick: inductor's CPU compilation takes ~30 s on one thread"))
        return
    for name in ("toy-mlp", "cifar-resnet"):
        case, runs = SPEED_CASES[name], {}
        for compile_ in (False, True):
            started = time.perf_counter()
            try:
                metrics = case_trainer(check, case, "bf16", steps=10, log_every=10,
                                       compile=compile_).train()
            except wgan_kit.WganKitError as exc:
                runs[compile_] = f"refused: {exc}"
                continue
            except Exception as exc:  # the unclear failure this row exists to catch
                runs[compile_] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
                continue
            runs[compile_] = (metrics["wasserstein"], time.perf_counter() - started)
        result = runs[True]
        if isinstance(result, tuple) and isinstance(runs[False], tuple):
            ok = math.isfinite(result[0])
            measured = (f"10 steps in {result[1]:.0f} s (compilation included); W {result[0]:.4f}, "
                        f"eager {runs[False][0]:.4f}")
        else:
            ok = isinstance(result, str) and result.startswith("refused:")
            measured = str(result)
        check.add(Row("run.compile trains or refuses clearly, bf16", name,
                      "pass" if ok else "fail", measured, "finite, or a WganKitError",
                      {"compiled": result, "eager": runs[False]}))


def table(report: dict[str, Any]) -> str:
    env = report.get("environment", {})
    lines = [f"# wgan-kit GPU check, {report['started']} ({report['mode']}, {report['device']})",
             "", f"torch {env.get('torch')}, CUDA {env.get('cuda')}, cuDNN {env.get('cudnn')}, "
             f"driver {env.get('driver')}, GPU {env.get('gpu')}, Python {env.get('python')}",
             "", "| check | case | status | measured | held to |", "|" + " --- |" * 5]
    lines += [f"| {r['check']} | {r['case']} | {r['status']} | {r['measured']} | {r['limit']} |"
              for r in report.get("correctness", [])]
    tests = report.get("cuda_tests")
    if tests:
        lines += ["", f"`{tests['command']}`: {tests['tests']} tests, {tests['failures']} failed, "
                      f"{tests['errors']} errors, {tests['skipped']} skipped"]
    speed_rows = report.get("speed", {}).get("rows", [])
    if speed_rows:
        lines += ["", "| case | batch | precision | ours it/s | plain it/s | ratio (min–max) | "
                      "target met | ours images/s | peak MiB ours / plain |", "|" + " --- |" * 9]
        for r in speed_rows:
            peaks = (f"{r['ours_peak_mb']:.0f} / {r['plain_peak_mb']:.0f}"
                     if r["ours_peak_mb"] is not None else "n/a on cpu")
            met = {True: "yes", False: "no", None: "n/a on cpu"}[r["meets_target"]]
            lines.append(f"| {r['case']} | {r['batch']} | {r['precision']} | {r['ours_it_s']:.3g} "
                         f"| {r['plain_it_s']:.3g} | {r['ratio']:.2f}× ({r['ratio_min']:.2f}–"
                         f"{r['ratio_max']:.2f}) | ≥ {r['target']}×: {met} | "
                         f"{r['ours_images_s']:.4g} | {peaks} |")
        lines.append("it/s: generator steps per second, each after n_critic critic steps; "
                     "ratio: ours / plain at the same precision; images/s: real images the "
                     "critic trains on (it/s × n_critic × batch); ours at bf16 / plain at fp32: "
                     + ", ".join(f"{r['case']} {r['ours_bf16_over_plain_fp32']:.2f}×"
                                 for r in speed_rows if "ours_bf16_over_plain_fp32" in r))
    flops = report.get("speed", {}).get("throughput")
    if flops:
        lines.append(f"cifar-resnet-256 bf16: {flops['flops_per_gen_step'] / 1e12:.3g} TFLOP per "
                     f"generator step × {flops['gen_steps_s']:.3g} it/s = "
                     f"{flops['achieved_tflops']:.3g} TFLOP/s, {flops['fraction']:.1%} of the "
                     f"measured bf16 matmul rate {flops['matmul_bf16_tflops']:.4g} TFLOP/s "
                     f"(target {flops['target']:.0%})")
    run = report.get("real_run")
    if run:
        lines += ["", f"real run ({run['trained_seconds']} s, `{run['command']}`): "
                      f"step {run['last_step']}, median {run['median_it_s']} it/s, exit "
                      f"{run['exit_status']}, stopped cleanly: {run['stopped_cleanly']}"]
    lines += ["", "| section | seconds | outcome |", "| --- | --- | --- |"]
    lines += [f"| {name} | {s['seconds']:.1f} | {s['outcome']} |"
              for name, s in report["sections"].items()]
    return "\n".join(lines) + "\n"


def _write(check: Check) -> None:
    check.out.mkdir(parents=True, exist_ok=True)
    (check.out / "gpu_check.json").write_text(json.dumps(check.report, indent=2, default=str))
    (check.out / "gpu_check.md").write_text(table(check.report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda",
                        help="cuda, cuda:N or cpu (cpu compares the CPU with itself)")
    parser.add_argument("--quick", action="store_true",
                        help="every section on tiny nets and batches, a few steps each")
    parser.add_argument("--out", type=Path, default=Path("gpu-check"),
                        help="folder for gpu_check.json and gpu_check.md")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated, from {', '.join(SECTIONS)} [default: all]")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"--sections: unknown {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device; use --device cpu --quick here")
    torch.set_num_threads(args.threads)
    check = Check(device, args.quick, args.out, wgan_kit.load_registry(strict=True), {
        "format": "wgan-kit-gpu-check/1",
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(sys.argv), "device": str(device),
        "mode": "quick" if args.quick else "full", "sections": {}})
    functions: dict[str, Callable[[Check], None]] = {
        "environment": environment, "correctness": correctness, "memory": memory,
        "cuda_tests": cuda_tests, "speed": speed, "real_run": real_run, "compile": compiled}
    for name in chosen:
        started = time.perf_counter()
        outcome = "done"
        try:
            functions[name](check)
        except Exception as exc:
            outcome = f"broke: {type(exc).__name__}: {str(exc).strip()[:300]}"
            check.report.setdefault("tracebacks", {})[name] = traceback.format_exc()[-4000:]
        check.report["sections"][name] = {"seconds": round(time.perf_counter() - started, 1),
                                          "outcome": outcome}
        _write(check)
        print(f"{name}: {outcome} ({check.report['sections'][name]['seconds']} s)", flush=True)
    statuses = [r["status"] for r in check.report.get("correctness", [])]
    tests = check.report.get("cuda_tests", {})
    check.report["summary"] = {
        "pass": statuses.count("pass"), "fail": statuses.count("fail"),
        "skip": statuses.count("skip"),
        "sections_broken": [n for n, s in check.report["sections"].items()
                            if s["outcome"] != "done"],
        "cuda_tests_failed": tests.get("failures", 0) + tests.get("errors", 0)}
    _write(check)
    print(table(check.report))
    summary = check.report["summary"]
    sys.exit(1 if summary["fail"] or summary["sections_broken"] or summary["cuda_tests_failed"]
             else 0)


if __name__ == "__main__":
    main()
