"""Seconds per training step and per forward pass of the two genotype denoisers at a size.

A latent of ``--windows`` windows of ``--scores`` PCA scores each (500 x 35: about 100,000
variants at the default window), conditional on 3 populations; the MLP at the default size
(width 256, 2 blocks) against the window denoiser at its default size (width 64, 3 blocks).

    OMP_NUM_THREADS=2 python benchmarks/genotype_experiments/denoiser_cost.py --threads 2
"""

from __future__ import annotations

import argparse
import time

import torch

from synthomics.diffusion.denoisers import MLPDenoiser, WindowDenoiser
from synthomics.diffusion.process import GaussianDiffusion
from synthomics.genotype_diffusion.model import SIZES, WINDOW_KERNEL, WINDOW_SIZES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=500)
    parser.add_argument("--scores", type=int, default=35)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    d = args.windows * args.scores
    offsets = list(range(0, d + 1, args.scores))
    process = GaussianDiffusion(1000)
    networks = {
        "mlp": MLPDenoiser(d, n_classes=3, **SIZES["default"]),
        "windows": WindowDenoiser(
            d, offsets, n_classes=3, kernel=WINDOW_KERNEL, **WINDOW_SIZES["default"]
        ),
    }
    for name, net in networks.items():
        optimiser = torch.optim.AdamW(net.parameters(), 1e-3)
        x, cond = torch.randn(args.batch, d), torch.randint(0, 3, (args.batch,))
        for step in range(13):  # 3 warm-up steps, 10 timed
            if step == 3:
                start = time.perf_counter()
            t = torch.randint(0, 1000, (args.batch,))
            loss = process.training_losses(net, x, t, cond=cond)["loss"].mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        per_step = (time.perf_counter() - start) / 10
        with torch.inference_mode():
            inputs = {
                "x_t": torch.randn(512, d),
                "t": torch.full((512,), 500),
                "cond": torch.zeros(512, dtype=torch.long),
            }
            start = time.perf_counter()
            net(inputs)
            forward = time.perf_counter() - start
        parameters = sum(p.numel() for p in net.parameters())
        print(
            f"{name}: {parameters:,} parameters, training step (batch {args.batch}) "
            f"{per_step:.3f} s, forward pass of 512 individuals {forward:.3f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
