"""``kgen export``: write a trained model as a versioned SavedModel for TF Serving."""

from __future__ import annotations

import os
import shlex

import click

from kgen.cli.common import KgenCommand, model_source, run_dir_option


@click.command(cls=KgenCommand)
@run_dir_option("to export")
@click.option("--name", help="Model name: the export goes to <base-dir>/NAME/VERSION/ (default: <model>_<arch>, "
                             "e.g. gan_dcgan).")
@click.option("--version", "version", type=click.IntRange(min=1),
              help="Version number, the directory TF Serving loads (default: the next free one, from 1).")
@click.option("--base-dir", type=click.Path(file_okay=False), default="saved_models", show_default=True,
              help="Where model directories go (TF Serving's --model_base_path is <base-dir>/NAME).")
@click.option("--replace", is_flag=True, help="Replace an existing version directory (default: refuse).")
def export(run_dir, name, version, base_dir, replace):
    """Export a trained model as a self-contained TensorFlow SavedModel for TF Serving.

    Signatures: serving_default (z → uint8 and float images), images (z → uint8 images only), sample
    and sample_images (n, seed → images) and, for vae and vaegan, encode, decode and reconstruct. The
    SavedModel needs neither kgen nor Keras to run.

    \b
    Example:
      kgen export --run-dir saved_models/dcgan --name dcgan
      saved_model_cli show --dir saved_models/dcgan/1 --all
    """
    from kgen.export import export_model
    from kgen.models import GenerativeModel
    from kgen.run import layout

    source = model_source(run_dir)
    model = layout.load_model(source)
    if not isinstance(model, GenerativeModel):
        raise click.UsageError(f"{source} is already an export; give a run dir or a .keras file.")
    path = export_model(model, base_dir=base_dir, name=name, version=version, replace=replace,
                        data=layout.run_data(source))
    click.echo(f"Exported {source} to {path}")
    model_dir = os.path.abspath(os.path.dirname(path))
    name = shlex.quote(os.path.basename(model_dir))
    click.echo(f"Serve it with: tensorflow_model_server --rest_api_port=8501 "
               f"--model_name={name} --model_base_path={shlex.quote(model_dir)}")
    click.echo("(TF Serving 2.12 or newer; see docs/serving.md.)")
