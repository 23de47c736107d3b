"""`disambig train`, `disambig evaluate` and `disambig model info`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from disambig.cli.app import fail_cleanly, main


@main.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="Model dir.")
@click.option(
    "--pairs",
    "pair_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Labelled pair files (e.g. MEDLINE pairs); repeatable.",
)
@click.option(
    "--dev",
    "dev_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Labelled files to report on in the model card (never trained on).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--threads",
    type=int,
    default=1,
    show_default=True,
    help="OpenMP threads for fitting; more threads than free cores makes fitting many times slower.",
)
@click.option(
    "--merge-stage/--no-merge-stage",
    default=False,
    show_default=True,
    help="Also train the second stage that merges clusters whose pooled profiles match.",
)
@click.option(
    "--embeddings/--no-embeddings",
    default=False,
    show_default=True,
    help="Add the cosine of sentence embeddings of title + abstract as a feature "
    "(needs `pip install 'disambig[embeddings]'`, and so will the model).",
)
@click.option(
    "--embedding-dropout",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="With --embeddings: share of training mentions whose embedding is removed, so the model "
    "learns what a mention without title or abstract means.",
)
@fail_cleanly
def train(
    data: tuple[Path, ...],
    output: Path,
    pair_files: tuple[Path, ...],
    dev_files: tuple[Path, ...],
    seed: int,
    threads: int,
    merge_stage: bool,
    embeddings: bool,
    embedding_dropout: float,
) -> None:
    """Train a pairwise model on labelled DATA files (with person_id) and write it to OUTPUT."""
    from threadpoolctl import threadpool_limits

    from disambig.training import train as run_training

    if embeddings:
        from disambig.embeddings import require_embeddings

        require_embeddings("--embeddings")

    with threadpool_limits(threads):
        model = run_training(
            list(data),
            pair_files=list(pair_files),
            dev_files=list(dev_files),
            seed=seed,
            merge_stage=merge_stage,
            embeddings=embeddings,
            embedding_dropout=embedding_dropout,
        )
    model.save(output)
    click.echo(f"model written to {output} (threshold {model.threshold:.2f})", err=True)


@main.command()
@click.argument("gold", type=str)
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="Model directory (default: shipped).")
@click.option("--initials", is_flag=True, help="Rewrite every name to initials + surname first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--jobs", type=int, default=0, help="Worker processes (0 = all cores).")
@fail_cleanly
def evaluate(gold: str, model_path: Path | None, initials: bool, as_json: bool, jobs: int) -> None:
    """Cluster a labelled file (with person_id) and print B3 and pairwise scores."""
    from disambig.engine import Engine
    from disambig.evaluation import score, score_by_block
    from disambig.model import load_model
    from disambig.training import LabelledCorpus

    corpus = LabelledCorpus.read(gold)
    if initials:
        corpus = corpus.in_initials()
    engine = Engine(load_model(model_path), jobs=jobs)
    assignments = engine.cluster(corpus.mentions)
    predicted = [a.identity_id for a in assignments]
    gold_labels = list(corpus.labels)
    overall = score(predicted, gold_labels)
    per_block = score_by_block(predicted, gold_labels, engine.block_keys(corpus.mentions))
    if as_json:
        report = {
            "file": gold,
            "initials": initials,
            "model": engine.model.version,
            "overall": overall.as_dict(),
            "blocks": {k: v.as_dict() for k, v in per_block.items()},
        }
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{'block':<28} {'n':>6} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6} {'pw P':>6} {'pw R':>6} {'pw F1':>6}")
    for key, s in [*list(per_block.items()), ("OVERALL", overall)]:
        click.echo(
            f"{key:<28} {s.mentions:>6} {s.b3_precision:6.3f} {s.b3_recall:6.3f} {s.b3_f1:6.3f} "
            f"{s.pairwise_precision:6.3f} {s.pairwise_recall:6.3f} {s.pairwise_f1:6.3f}"
        )


@main.group("model")
def model_group() -> None:
    """Inspect models."""


@model_group.command("info")
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    help="Model directory (default: $DISAMBIG_MODEL, else the shipped model).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@fail_cleanly
def model_info(model_path: Path | None, as_json: bool) -> None:
    """Print a model's card: version, thresholds, features, training data, development figures."""
    from disambig.model import default_model_path, load_model, render_card

    path = model_path or default_model_path()
    model = load_model(path)
    if as_json:
        info = {
            "path": str(path),
            "version": model.version,
            "threshold": model.threshold,
            "merge_stage": model.merger is not None,
            "merge_threshold": model.merge_threshold,
            "features": [{"name": f.name, "description": f.description} for f in model.features],
            "card": model.card,
        }
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"path: {path}\n")
    click.echo(render_card(model), nl=False)
