"""``kgen fit``: train a model and write its run directory."""

from __future__ import annotations

import click

from kgen import names
from kgen.cli.common import KgenCommand, option, parse_classes, parse_minutes

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
    "augment": ("augment", ("gan",)),
    "ema": ("ema_decay", names.MODELS),
}


def model_options(model, **given):
    """The constructor arguments from the model-specific options the user gave.

    Raises:
        click.UsageError: an option was given for a model it does not apply to.
    """
    options = {}
    for name, value in given.items():
        if value is None:
            continue
        argument, models = MODEL_OPTIONS[name]
        if model not in models:
            flag = "--" + name.replace("_", "-")
            raise click.UsageError(f"{flag} applies to --model {'/'.join(models)} only, not {model}.")
        options[argument] = value
    return options


@click.command(cls=KgenCommand)
@option("Data", "--data", default="fashion_mnist", show_default=True,
        help="Data spec: a dataset name (mnist, fashion_mnist, cifar10, celeb_a; local copies in "
        "$KGEN_DATA_DIR/<name>/ or /usr/share/datasets/<name>/ are used first), a directory of "
        "IDX files or of images, or a .npz/.npy file.")
@option("Data", "--image-size", type=click.IntRange(min=4),
        help="Side of the square training images (e.g. 28, 32, 64); default: the data's own size.")
@option("Data", "--translate", type=click.FloatRange(0, 0.5, max_open=True), default=0.0, show_default=True,
        help="Random translation augmentation, as a fraction of height and width (Rana et al. use 0.1).")
@option("Data", "--limit", type=click.IntRange(min=1), help="Train on the first N examples only (quick trials).")
@option("Data", "--classes", callback=parse_classes,
        help="Train on the examples of these labels only, comma-separated (e.g. the normal classes of an "
        "anomaly detector: 0,1,2,3,4,5,6,8,9); needs labelled data.")
@option("Model", "--model", "model", type=click.Choice(names.MODELS), default="gan", show_default=True,
        help="Model family: gan (Goodfellow et al.), vae (Kingma & Welling), vaegan (Larsen et al.).")
@option("Model", "--arch", type=click.Choice(names.ARCHS),
        help="Networks: dcgan (default; Radford et al.'s DCGAN: 4×4 stride-2 convolutions, batch norm), mlp "
        "(fully connected), or the reference comparison's literal paper-dcgan / paper-mlp (slower to "
        "train; for reproducing that paper). vaegan takes dcgan or paper-dcgan.")
@option("Model", "--latent-dim", type=click.IntRange(min=1),
        help="Size of the latent vector z (default: gan 100, vae 16, vaegan 100).")
@option("Model", "--width", type=click.IntRange(min=1), default=32, show_default=True,
        help="Layer-size multiplier of every network; 32 gives the reference papers' sizes.")
@option("Model", "--conditional", is_flag=True,
        help="Train a class-conditional model on the data's labels: `kgen sample --label C` then draws class C "
        "and the sample grids have one row per class. gan: the label one-hot goes into the generator "
        "and a projection discriminator; vae, vaegan: into encoder and decoder (vaegan's discriminator "
        "is a projection discriminator too).")
@option("Model", "--ema", type=click.FloatRange(0, 1, max_open=True),
        help="Decay of the moving average of the generator's (decoder's) weights that sampling, evaluation, "
        "export and the grids use; 0: off (default: 0.999 for gan and vaegan, off for vae).")
@option("GAN options", "--gan-loss", type=click.Choice(names.GAN_LOSSES),
        help="gan: the adversarial loss — non-saturating (default), minimax (the original), least-squares "
        "(Mao et al.), hinge, or wgan-gp (Wasserstein critic with gradient penalty, Gulrajani et al., "
        "with the paper's recipe: 5 critic steps, Adam(1e-4, beta 0/0.9), a critic without dropout or "
        "batch norm).")
@option("GAN options", "--critic-steps", type=click.IntRange(min=1),
        help="gan: discriminator updates per generator update, each on its own real batch and fresh noise "
        "(default: 5 for wgan-gp, else 1).")
@option("GAN options", "--gp-weight", type=click.FloatRange(min=0),
        help="gan --gan-loss wgan-gp: weight of the gradient penalty (default 10).")
@option("GAN options", "--augment",
        help="gan: differentiable augmentation of the images the discriminator sees, real and generated (Zhao et "
        "al. 2020, DiffAugment), comma-separated: brightness, contrast, translation, cutout (default: none).")
@option("VAE options", "--beta", type=click.FloatRange(min=0), help="vae: weight of the KL term (β-VAE; default 1).")
@option("VAE options", "--kl-warmup", type=click.IntRange(min=0),
        help="vae: training steps over which the KL weight grows linearly to --beta (default 0: no warm-up); "
        "`kgen eval` reports the KL per latent dimension and how many are active.")
@option("VAE options", "--recon-loss", type=click.Choice(names.RECONSTRUCTION_LOSSES),
        help="vae: reconstruction loss, Bernoulli (bce, default) or Gaussian (mse).")
@option("VAE-GAN options", "--gamma", type=click.FloatRange(min=0),
        help="vaegan: weight of the feature-space reconstruction loss in the decoder's loss (default 0.01).")
@option("VAE-GAN options", "--feature-layer", type=click.IntRange(min=1),
        help="vaegan: discriminator layer (1-based) whose features measure reconstruction (default: the last "
        "convolution; 3 for paper-dcgan).")
@option("Optimisation", "--epochs", type=click.IntRange(min=1), default=None,
        help="Passes over the training data [default: 1]. With --max-minutes: the most it may make; without "
        "--epochs, --max-minutes alone decides how long training runs.")
@option("Optimisation", "--batch-size", type=click.IntRange(min=1), default=128, show_default=True,
        help="Images per training step (per discriminator update for a GAN with several critic steps).")
@option("Optimisation", "--lr", "learning_rate", type=click.FloatRange(min=0, min_open=True),
        help="Learning rate of every optimizer (default: gan 2e-4, vae 1e-4, vaegan 3e-4; docs/quality.md measures "
        "higher rates for the GAN).")
@option("Optimisation", "--optimizer", type=click.Choice(names.OPTIMIZERS), default="adam", show_default=True,
        help="Optimizer of every network (one instance per network).")
@option("Optimisation", "--beta1", "beta_1", type=click.FloatRange(0, 1, max_open=True),
        help="Adam's beta_1 (default: 0.5 for gan and vaegan, 0.9 for vae, 0 for --gan-loss wgan-gp).")
@option("Optimisation", "--beta2", "beta_2", type=click.FloatRange(0, 1, max_open=True),
        help="Adam's beta_2 (default: 0.999; 0.9 for --gan-loss wgan-gp).")
@option("Optimisation", "--seed", type=int, default=0, show_default=True, help="Seed of weights, noise and shuffling.")
@option("Optimisation", "--jit/--no-jit", "jit_compile", default=False, show_default=True,
        help="Compile each training step with XLA (on a 2-core CPU it slowed every model down, see DEVELOPERS.md; "
        "worth trying on a GPU).")
@option("Optimisation", "--deterministic", is_flag=True,
        help="Turn TensorFlow's op determinism on: the same command gives the same weights, also across a "
        "resume (may be slower).")
@option("Optimisation", "--max-minutes", type=click.FloatRange(min=0, min_open=True),
        help="Stop training after this many minutes (at the end of a step; the epoch's outputs are still "
        "written).")
@option("Optimisation", "--precision", type=click.Choice(names.PRECISIONS), default="auto", show_default=True,
        help="Keras dtype policy: auto picks mixed_bfloat16 where the hardware has bfloat16 units (TPUs, GPUs "
        "of compute capability ≥ 8, CPUs with AVX512-BF16 or AMX), mixed_float16 on older GPUs, else "
        "float32 (the choice and its reason are printed and recorded in config.json). The mixed "
        "policies compute in 16 bits and keep weights, logits, log-variances and losses in float32; "
        "samples and exports are float32 / uint8 either way. mixed_float16 needs a GPU.")
@option("Optimisation", "--strategy", type=click.Choice(names.STRATEGIES),
        default="auto", show_default=True,
        help="tf.distribute strategy: auto (several hosts if TF_CONFIG says so, a TPU if TPU_NAME is set, all "
        "GPUs if there are several, else one device), one_device, mirrored (all local GPUs), "
        "multi_worker (hosts in TF_CONFIG; run the same command on each), tpu. --batch-size is the "
        "global batch.")
@option("Monitoring", "--validate/--no-validate", default=True, show_default=True,
        help="Report the losses on the test split after each epoch (when the data has one).")
@option("Monitoring", "--metrics-every", type=click.IntRange(min=0), default=1, show_default=True,
        help="Epochs between classifier FID / IS / KID / precision-recall during training (0: off). Needs the "
        "data's evaluator classifier (`kgen evaluator fit --data …`); without one, a note says so.")
@option("Monitoring", "--metrics", "metrics", default="fid,is,kid,pr", show_default=True,
        callback=lambda ctx, param, value: [m.strip() for m in value.split(",") if m.strip()],
        help="Which classifier metrics to compute during training (comma-separated: fid, is, kid, pr).")
@option("Monitoring", "--metrics-n", type=click.IntRange(min=2), default=2000, show_default=True,
        help="Generated images per evaluation during training.")
@option("Monitoring", "--metrics-at", "metrics_at", callback=parse_minutes,
        help="Also compute the metrics after these minutes of training, comma-separated (e.g. 1,2,5,10): the "
        "curve of quality against training time, in metrics.json and TensorBoard. Evaluation time does "
        "not count as training (nor against --max-minutes).")
@option("Monitoring", "--evaluator", type=click.Path(file_okay=False),
        help="Evaluator classifier directory for the metrics (default: the one saved for --data).")
@option("Monitoring", "--log-every", type=click.IntRange(min=1), default=10, show_default=True,
        help="Steps between the per-step loss scalars written to TensorBoard.")
@option("Run", "--run-dir", type=click.Path(file_okay=False),
        help="Output directory (default: saved_models/<model>-<arch>-<date-time>).")
@option("Run", "--overwrite", is_flag=True, help="Replace an existing run in --run-dir (default: refuse).")
@option("Run", "--checkpoint-every", default="2m", show_default=True,
        help="How often the full training state (networks, optimisers, random generators, position) is saved "
        "to checkpoint/ besides after every epoch: steps (500) or time (30s, 2m, 1h); 0: after epochs only. "
        "Run the same command again to resume an interrupted run from it.")
@option("Run", "--keep-checkpoints", type=click.IntRange(min=1), default=2, show_default=True,
        help="Checkpoints kept while training (the newest): if the newest is damaged, the run resumes from the one "
        "before. A finished run keeps none: its model.keras holds the whole training state.")
@option("Run", "--on-nan", type=click.Choice(names.ON_NAN), default="stop", show_default=True,
        help="When a loss becomes NaN or infinite: stop (the last good checkpoint and model stay), or roll back "
        "to the last checkpoint with halved learning rates (at most 3 times).")
@option("Run", "--resume", "resume", type=click.Path(exists=True, file_okay=False),
        help="Resume the run in this directory with every setting recorded in its config.json (only --epochs, "
        "--max-minutes and the monitoring and run options may be given, to train longer or watch "
        "differently).")
@click.pass_context
def fit(ctx, overwrite, resume, beta, kl_warmup, recon_loss, gamma, feature_layer, gan_loss, critic_steps, gp_weight,
        augment, ema, **settings):
    """Train a generative model and write its run directory.

    Running the same command again into an unfinished run dir resumes it from its last checkpoint (with
    a larger --epochs, a finished run trains on), and so does --resume RUN_DIR with the settings the
    run recorded; --overwrite starts over. Ctrl-C (or SIGTERM) saves a checkpoint and stops; a second
    one stops at once.

    The run dir receives model.keras, config.json (everything needed to repeat the run),
    history.json and losses.png, a sample grid per epoch in samples/ (and reconstructions of test
    images in reconstructions/ for vae and vaegan), classifier metrics per epoch in metrics.json, and
    TensorBoard logs in logs/ (`tensorboard --logdir saved_models`).

    \b
    Examples:
      kgen fit --data fashion_mnist --max-minutes 5 --run-dir saved_models/dcgan
      kgen fit --model vae --arch mlp --data mnist --epochs 20
      kgen fit --resume saved_models/dcgan --max-minutes 10
    """
    from kgen.config import RunConfig
    from kgen.training import RESUMABLE_SETTINGS, fit_run, resumed_config

    given = {name for name in ctx.params if ctx.get_parameter_source(name).name != "DEFAULT"}
    if resume:
        if overwrite:
            raise click.UsageError("--resume continues a run; --overwrite starts one over: give one of them.")
        flags = {param.name: param.opts[0] for param in ctx.command.params}
        fixed = sorted((given - set(RESUMABLE_SETTINGS) - {"resume"}), key=list(flags).index)
        if fixed:
            raise click.UsageError(f"A resumed run keeps the settings that shape its training: "
                                   f"{', '.join(flags[name] for name in fixed)} cannot be given with --resume (start "
                                   "a new run for other settings).")
        config = resumed_config(resume, {name: settings[name] for name in given & set(settings)})
    else:
        options = model_options(settings["model"], beta=beta, kl_warmup=kl_warmup, recon_loss=recon_loss,
                                gamma=gamma, feature_layer=feature_layer, gan_loss=gan_loss, critic_steps=critic_steps,
                                gp_weight=gp_weight, augment=augment, ema=ema)
        config = RunConfig(model_options=options, **settings)
    from kgen.runs import directory_size

    result = fit_run(config, overwrite=overwrite)
    seconds = result.history["epoch_seconds"]
    click.echo(f"Trained {config.model}/{result.model.arch} for {len(seconds)} epoch(s), "
               f"{sum(seconds) / len(seconds):.1f} s per epoch.")
    if result.checkpoint_seconds:
        writes = result.checkpoint_seconds
        click.echo(f"Checkpoints:  {len(writes)} written, {sum(writes) / len(writes):.1f} s each "
                   f"({100 * sum(writes) / max(sum(seconds), 1e-9):.1f} % of the training time)")
    click.echo(f"Run dir:      {result.run_dir} ({directory_size(result.run_dir) / 1e6:.0f} MB)")
    click.echo(f"Model:        {result.run_dir}/model.keras")
    click.echo(f"Last samples: {result.grid_paths[-1]}")
