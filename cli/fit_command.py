"""``kgen fit``: train a model and write its run directory."""

from __future__ import annotations

import click

MODEL_NAMES = ("gan", "vae", "vaegan")
ARCH_NAMES = ("mlp", "dcgan", "conv")
OPTIMIZER_NAMES = ("adam", "rmsprop")
# The keys of kgen.losses.GAN_LOSSES, spelled out so --help works without importing TensorFlow.
GAN_LOSS_NAMES = ("non-saturating", "minimax", "least-squares", "hinge", "wgan-gp")

# CLI option → (constructor argument, models it applies to).
MODEL_OPTIONS = {
    "beta": ("beta", ("vae",)),
    "kl_warmup": ("kl_warmup_steps", ("vae",)),
    "recon_loss": ("reconstruction_loss", ("vae",)),
    "gamma": ("gamma", ("vaegan",)),
    "feature_layer": ("feature_layer", ("vaegan",)),
    "gan_loss": ("loss", ("gan",)),
    "critic_steps": ("critic_steps", ("gan",)),
    "gp_weight": ("gp_weight", ("gan",)),
}


def parse_classes(ctx, param, value):
    """``"0,1,2"`` → ``[0, 1, 2]`` (click callback); ``None`` stays ``None``."""
    if value is None:
        return None
    try:
        classes = sorted({int(c) for c in value.split(",") if c.strip()})
    except ValueError:
        raise click.BadParameter(f"expected comma-separated class numbers such as 0,2,5; got {value!r}.") from None
    if not classes:
        raise click.BadParameter("expected at least one class number.")
    return classes


def model_options(model, **given):
    """The constructor arguments from the model-specific options the user gave.

    Raises:
        click.UsageError: an option was given for a model it does not apply to.
    """
    options = {}
    for option, value in given.items():
        if value is None:
            continue
        argument, models = MODEL_OPTIONS[option]
        if model not in models:
            flag = "--" + option.replace("_", "-")
            raise click.UsageError(f"{flag} applies to --model {'/'.join(models)} only, not {model}.")
        options[argument] = value
    return options


@click.command(context_settings={"max_content_width": 100})
@click.option("--model", "model", type=click.Choice(MODEL_NAMES), default="gan", show_default=True,
              help="Model family: gan (Goodfellow et al.), vae (Kingma & Welling), vaegan (Larsen et al.).")
@click.option("--arch", type=click.Choice(ARCH_NAMES),
              help="Architecture: gan takes mlp|dcgan (default dcgan), vae takes mlp|conv (default mlp), "
                   "vaegan takes dcgan.")
@click.option("--data", default="fashion_mnist", show_default=True,
              help="Data spec: a dataset name (mnist, fashion_mnist, cifar10, celeb_a; local copies in "
                   "$KGEN_DATA_DIR/<name>/ or /usr/share/datasets/<name>/ are used first), a directory of "
                   "IDX files or of images, or a .npz/.npy file.")
@click.option("--image-size", type=click.IntRange(min=4),
              help="Side of the square training images (e.g. 28, 32, 64); default: the data's own size.")
@click.option("--epochs", type=click.IntRange(min=1), default=1, show_default=True, help="Passes over the training data.")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True, help="Images per training step.")
@click.option("--latent-dim", type=click.IntRange(min=1),
              help="Size of the latent vector z (default: gan 100, vae 16, vaegan 100).")
@click.option("--width", type=click.IntRange(min=1), default=32, show_default=True,
              help="Layer-size multiplier of every network; 32 gives the reference papers' sizes.")
@click.option("--lr", "learning_rate", type=click.FloatRange(min=0, min_open=True),
              help="Learning rate of every optimizer (default: gan 2e-4, vae 1e-4, vaegan 3e-4).")
@click.option("--optimizer", type=click.Choice(OPTIMIZER_NAMES), default="adam", show_default=True,
              help="Optimizer of every network (one instance per network).")
@click.option("--beta1", "beta_1", type=click.FloatRange(0, 1, max_open=True),
              help="Adam's beta_1 (default: 0.5 for gan and vaegan, 0.9 for vae).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of weights, noise and shuffling.")
@click.option("--run-dir", type=click.Path(file_okay=False),
              help="Output directory (default: saved_models/<model>-<arch>-<date-time>).")
@click.option("--overwrite", is_flag=True, help="Replace an existing run in --run-dir (default: refuse).")
@click.option("--conditional", is_flag=True,
              help="Train a class-conditional model on the data's labels: `kgen sample --label C` then draws class C "
                   "and the sample grids have one row per class. gan: the label one-hot goes into the generator "
                   "and a projection discriminator; vae, vaegan: into encoder and decoder (vaegan's discriminator "
                   "is a projection discriminator too).")
@click.option("--beta", type=click.FloatRange(min=0), help="vae: weight of the KL term (β-VAE; default 1).")
@click.option("--kl-warmup", type=click.IntRange(min=0),
              help="vae: training steps over which the KL weight grows linearly to --beta (default 0: no warm-up); "
                   "`kgen eval` reports the KL per latent dimension and how many are active.")
@click.option("--recon-loss", type=click.Choice(("bce", "mse")),
              help="vae: reconstruction loss, Bernoulli (bce, default) or Gaussian (mse).")
@click.option("--gamma", type=click.FloatRange(min=0),
              help="vaegan: weight of the feature-space reconstruction loss in the decoder's loss (default 0.01).")
@click.option("--feature-layer", type=click.IntRange(min=1),
              help="vaegan: discriminator layer (1-based) whose features measure reconstruction (default 3).")
@click.option("--gan-loss", type=click.Choice(GAN_LOSS_NAMES),
              help="gan: the adversarial loss — non-saturating (default), minimax (the original), least-squares "
                   "(Mao et al.), hinge, or wgan-gp (Wasserstein critic with gradient penalty, Gulrajani et al.; "
                   "use with --critic-steps 5 and, as the paper does, --lr 1e-4 --beta1 0).")
@click.option("--critic-steps", type=click.IntRange(min=1),
              help="gan: discriminator updates per generator update, each on fresh noise and the same real batch "
                   "(default 1).")
@click.option("--gp-weight", type=click.FloatRange(min=0),
              help="gan --gan-loss wgan-gp: weight of the gradient penalty (default 10).")
@click.option("--translate", type=click.FloatRange(0, 0.5, max_open=True), default=0.0, show_default=True,
              help="Random translation augmentation, as a fraction of height and width (Rana et al. use 0.1).")
@click.option("--limit", type=click.IntRange(min=1), help="Train on the first N examples only (quick trials).")
@click.option("--jit/--no-jit", "jit_compile", default=False, show_default=True,
              help="Compile each training step with XLA (on a 2-core CPU it slowed every model down: the DCGAN "
                   "by 22%, the VAE 2×, the VAE-GAN 5×; worth trying on a GPU).")
@click.option("--validate/--no-validate", default=True, show_default=True,
              help="Report the losses on the test split after each epoch (when the data has one).")
@click.option("--metrics-every", type=click.IntRange(min=0), default=1, show_default=True,
              help="Epochs between classifier FID / IS / KID / precision-recall during training (0: off). Needs the "
                   "data's evaluator classifier (`kgen evaluator fit --data …`); without one, a note says so.")
@click.option("--metrics", "metrics", default="fid,is,kid,pr", show_default=True,
              callback=lambda ctx, param, value: [m.strip() for m in value.split(",") if m.strip()],
              help="Which classifier metrics to compute during training (comma-separated: fid, is, kid, pr).")
@click.option("--metrics-n", type=click.IntRange(min=2), default=2000, show_default=True,
              help="Generated images per evaluation during training.")
@click.option("--evaluator", type=click.Path(file_okay=False),
              help="Evaluator classifier directory for the metrics (default: the one saved for --data).")
@click.option("--classes", callback=parse_classes,
              help="Train on the examples of these labels only, comma-separated (e.g. the normal classes of an "
                   "anomaly detector: 0,1,2,3,4,5,6,8,9); needs labelled data.")
@click.option("--log-every", type=click.IntRange(min=1), default=10, show_default=True,
              help="Steps between the per-step loss scalars written to TensorBoard.")
@click.option("--checkpoint-every", default="2m", show_default=True,
              help="How often the full training state (networks, optimisers, random generators, position) is saved "
                   "to checkpoint/ besides after every epoch: steps (500) or time (30s, 2m, 1h); 0: after epochs only. "
                   "Run the same command again to resume an interrupted run from it.")
@click.option("--on-nan", type=click.Choice(("stop", "rollback")), default="stop", show_default=True,
              help="When a loss becomes NaN or infinite: stop (the last good checkpoint and model stay), or roll back "
                   "to the last checkpoint with halved learning rates (at most 3 times).")
@click.option("--deterministic", is_flag=True,
              help="Turn TensorFlow's op determinism on: the same command gives the same weights, also across a "
                   "resume (may be slower).")
@click.option("--max-minutes", type=click.FloatRange(min=0, min_open=True),
              help="Stop training after this many minutes (at the end of a step; the epoch's outputs are still "
                   "written).")
@click.option("--precision", type=click.Choice(("float32", "mixed_float16", "mixed_bfloat16")), default="float32",
              show_default=True,
              help="Keras dtype policy: mixed_float16 (GPUs; with dynamic loss scaling) or mixed_bfloat16 (TPUs, "
                   "recent CPUs and GPUs) compute in 16 bits and keep weights, logits, log-variances and losses in "
                   "float32. Samples and exports are float32 / uint8 either way.")
@click.option("--strategy", type=click.Choice(("auto", "one_device", "mirrored", "multi_worker", "tpu")),
              default="auto", show_default=True,
              help="tf.distribute strategy: auto (several hosts if TF_CONFIG says so, a TPU if TPU_NAME is set, all "
                   "GPUs if there are several, else one device), one_device, mirrored (all local GPUs), "
                   "multi_worker (hosts in TF_CONFIG; run the same command on each), tpu. --batch-size is the "
                   "global batch.")
def fit(overwrite, beta, kl_warmup, recon_loss, gamma, feature_layer, gan_loss, critic_steps, gp_weight, **settings):
    """Train a generative model and write its run directory.

    Running the same command again into an unfinished run dir resumes it from its last checkpoint (with
    a larger --epochs, a finished run trains on); --overwrite starts over. Ctrl-C (or SIGTERM) saves a
    checkpoint and stops.

    The run dir receives model.keras, config.json (everything needed to repeat the run),
    history.json and losses.png, a sample grid per epoch in samples/ (and reconstructions of test
    images in reconstructions/ for vae and vaegan), classifier metrics per epoch in metrics.json, and
    TensorBoard logs in logs/ (`tensorboard --logdir saved_models`).

    \b
    Example:
      kgen fit --model gan --arch dcgan --data fashion_mnist --epochs 5 --run-dir saved_models/dcgan
    """
    from kgen.config import RunConfig
    from kgen.training import fit as fit_run

    options = model_options(settings["model"], beta=beta, kl_warmup=kl_warmup, recon_loss=recon_loss, gamma=gamma,
                            feature_layer=feature_layer, gan_loss=gan_loss, critic_steps=critic_steps,
                            gp_weight=gp_weight)
    config = RunConfig(model_options=options, **settings)
    result = fit_run(config, overwrite=overwrite)
    seconds = result.history["epoch_seconds"]
    click.echo(f"Trained {config.model}/{result.model.arch} for {len(seconds)} epoch(s), "
               f"{sum(seconds) / len(seconds):.1f} s per epoch.")
    click.echo(f"Run dir:      {result.run_dir}")
    click.echo(f"Model:        {result.run_dir}/model.keras")
    click.echo(f"Last samples: {result.grid_paths[-1]}")
