"""Reference: the reference comparison's DCGAN (Banerjee, "GAN vs VAE") in PyTorch, written the usual way:
two nn.Sequential networks and an alternating discriminator / generator loop. Nothing of kgen is used.

The same networks, optimisers and step as ``reference_keras_dcgan.py`` (see there). bfloat16 (``--bf16``)
runs the forward passes under ``torch.autocast("cpu", dtype=torch.bfloat16)``, PyTorch's usual CPU
mixed precision, with the weights and the optimiser in float32.

Needs PyTorch (``pip install torch==2.13.0`` in a separate virtual environment). Prints one JSON line:
images/s over the steps after the warm-up.

    python benchmarks/reference_torch_dcgan.py [--batch 128] [--steps 60] [--warmup 10] [--bf16]
"""

import argparse
import contextlib
import json
import time

import torch
from torch import nn

LATENT = 100


def make_generator():
    return nn.Sequential(
        nn.Linear(LATENT, 7 * 7 * 256), nn.Unflatten(1, (256, 7, 7)),
        nn.ConvTranspose2d(256, 128, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 3, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 3, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 3, stride=2, padding=1, output_padding=1), nn.Tanh())


def make_discriminator():
    layers, channels = [], 1
    for filters, stride in ((32, 2), (64, 1), (128, 1), (256, 2)):
        layers += [nn.Conv2d(channels, filters, 3, stride=stride, padding=1), nn.LeakyReLU(0.2), nn.Dropout(0.25)]
        channels = filters
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(256 * 7 * 7, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=60, help="timed steps")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--bf16", action="store_true", help="torch.autocast to bfloat16 on the CPU")
    args = parser.parse_args()
    torch.manual_seed(0)
    generator, discriminator = make_generator(), make_discriminator()
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loss_fn = nn.BCEWithLogitsLoss()
    images = torch.rand(args.batch * 8, 1, 28, 28) * 2 - 1
    ones, zeros = torch.ones(args.batch, 1), torch.zeros(args.batch, 1)
    precision = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if args.bf16 else contextlib.nullcontext

    def step(i):
        real = images[(i % 8) * args.batch:(i % 8 + 1) * args.batch]
        with precision():
            fake = generator(torch.randn(args.batch, LATENT))
            d_loss = loss_fn(discriminator(real).float(), ones) + loss_fn(discriminator(fake.detach()).float(), zeros)
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        with precision():
            g_loss = loss_fn(discriminator(generator(torch.randn(args.batch, LATENT))).float(), ones)
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()
        return g_loss

    for i in range(args.warmup):
        step(i)
    start = time.perf_counter()
    for i in range(args.steps):
        loss = step(i)
    float(loss)
    seconds = time.perf_counter() - start
    print(json.dumps({"impl": "torch" + ("-bf16" if args.bf16 else ""), "batch": args.batch, "steps": args.steps,
                      "images_per_s": args.batch * args.steps / seconds, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
