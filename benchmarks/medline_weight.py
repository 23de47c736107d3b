"""Does giving the labelled MEDLINE pairs more weight help held-out MEDLINE pairs?

    python benchmarks/medline_weight.py rows                 # build and cache the training rows (once)
    python benchmarks/medline_weight.py cv --share 0.10      # 5-fold CV over the MEDLINE pairs
    python benchmarks/medline_weight.py final --share 0.10 -o /tmp/medw/m10   # a model on all pairs
    python benchmarks/medline_weight.py shipped              # models/default on every MEDLINE pair

The training rows are exactly `disambig train`'s final ones (aminer110 + citeseerx_kim, as
written and in the two initials copies, + the MEDLINE pairs, with the same block groups, so the
calibration folds match); `--share S` weighs every MEDLINE row alike so that the MEDLINE rows
carry S of the total weight of a fit (`--share 0`: every row weight 1, today's recipe). The
threshold is fixed at 0.40, the shipped model's. One thread (threadpoolctl).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from disambig.classifier import ProbabilisticClassifier
from disambig.training import PairRows

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MENTION_FILES = ("aminer110.jsonl.gz", "citeseerx_kim.jsonl.gz")
PAIR_FILE = "vishnyakova_medline_train_pairs.jsonl.gz"
CACHE = Path("/tmp/medw")
THRESHOLD = 0.40
SEED = 0

log = logging.getLogger("medline_weight")


def build_rows(path: Path) -> None:
    """The final training rows of `disambig train` (seed 0), with a mask of the MEDLINE rows.

    The block-group ids are assigned as `train` assigns them: first while cross-fitting the
    threshold (3 folds by name block), then reused by the final rows."""
    from disambig.engine import name_blocks, prepare
    from disambig.features import feature_set
    from disambig.readers import read_labelled_pairs
    from disambig.training import (
        LabelledCorpus,
        _fold_of,
        base_name,
        labelled_pair_rows,
        pair_rows,
        text_frequencies,
    )

    features = feature_set(False)
    base_corpora = [LabelledCorpus.read(DATA / f) for f in MENTION_FILES]
    corpora = base_corpora + [c.in_initials(coauthors=both) for both in (False, True) for c in base_corpora]
    prior = text_frequencies(base_corpora)
    pairs, skipped = read_labelled_pairs(DATA / PAIR_FILE)
    log.info("%d MEDLINE pairs, %d skipped", len(pairs), len(skipped))
    priors = {c.name: text_frequencies([o for o in base_corpora if o.name != c.name]) for c in base_corpora}
    group_ids: dict[tuple[str, str], int] = {}
    for fold in range(3):  # cross_fit's folds, in its order: only the group ids matter here
        for corpus in corpora:
            in_fold = np.zeros(len(corpus.mentions), dtype=bool)
            for block in name_blocks(corpus.mentions):
                if _fold_of(base_name(corpus), block.key, 3) == fold:
                    in_fold[block.rows] = True
            part = corpus.subset(np.flatnonzero(~in_fold))
            base = base_name(part)
            for block in prepare(part.mentions, priors[base]).blocks:
                if len(block.rows) >= 2:
                    group_ids.setdefault((base, block.key), len(group_ids))
        log.info("group ids of fold %d assigned (%d)", fold, len(group_ids))
    rng = np.random.default_rng(SEED)
    out = []
    for corpus in corpora:
        base = base_name(corpus)
        prepared = prepare(corpus.mentions, priors[base])

        def group_of(key: str, base: str = base) -> int:
            return group_ids.setdefault((base, key), len(group_ids))

        out.append(pair_rows(prepared, corpus.labels, rng, group_of, features=features))
        log.info("%s: %d rows", corpus.name, len(out[-1].same))
    medline = labelled_pair_rows(pairs, prior, 1_000_000 + len(out) * 100_000, False)
    log.info("MEDLINE: %d rows (%d same person)", len(medline.same), int(medline.same.sum()))
    rows = PairRows.concat([*out, medline])
    is_pair = np.zeros(len(rows.same), dtype=bool)
    is_pair[len(rows.same) - len(medline.same) :] = True
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, features=rows.features, same=rows.same, groups=rows.groups, is_pair=is_pair)


def load_rows(path: Path) -> tuple[PairRows, np.ndarray]:
    z = np.load(path)
    return PairRows(z["features"], z["same"], z["groups"]), z["is_pair"]


def weights(is_pair: np.ndarray, share: float) -> np.ndarray | None:
    """Weight 1 per mention-file row; every pair row alike, so the pair rows carry `share`."""
    if share <= 0:
        return None
    n_pair = int(is_pair.sum())
    w = np.ones(len(is_pair))
    w[is_pair] = share / (1 - share) * (len(is_pair) - n_pair) / n_pair
    return w


def fit(rows: PairRows, is_pair: np.ndarray, share: float) -> ProbabilisticClassifier:
    from disambig.features import FEATURE_NAMES
    from disambig.training import fit_classifier

    return fit_classifier(rows, SEED, FEATURE_NAMES, sample_weight=weights(is_pair, share))


def metrics(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        "n": float(len(y)),
        "auc": roc_auc_score(y, p),
        "log_loss": log_loss(y, p, labels=[0, 1]),
        "acc@0.5": accuracy_score(y, p >= 0.5),
        "f1@0.5": f1_score(y, p >= 0.5),
        "acc@0.4": accuracy_score(y, p >= THRESHOLD),
        "f1@0.4": f1_score(y, p >= THRESHOLD),
        "mean_p": float(p.mean()),
    }


def cross_validate(rows_path: Path, share: float, folds: int = 5) -> dict[str, object]:
    rows, is_pair = load_rows(rows_path)
    pair_idx = np.flatnonzero(is_pair)
    other_idx = np.flatnonzero(~is_pair)
    oof = np.full(len(pair_idx), np.nan)
    per_fold = []
    splitter = GroupKFold(n_splits=folds)
    for k, (tr, te) in enumerate(splitter.split(pair_idx, groups=rows.groups[pair_idx])):
        keep = np.concatenate([other_idx, pair_idx[tr]])
        train = PairRows(rows.features[keep], rows.same[keep], rows.groups[keep])
        start = time.time()
        clf = fit(train, is_pair[keep], share)
        p = clf.predict_proba(rows.features[pair_idx[te]])[:, 1]
        oof[te] = p
        per_fold.append(metrics(p, rows.same[pair_idx[te]]))
        log.info("share %.2f fold %d: %s (%.0f s)", share, k, per_fold[-1], time.time() - start)
    y = rows.same[pair_idx]
    report = {
        "share": share,
        "pooled": metrics(oof, y),
        "folds": per_fold,
        "fold_std": {m: float(np.std([f[m] for f in per_fold], ddof=1)) for m in per_fold[0] if m != "n"},
    }
    np.save(CACHE / f"oof_{share:g}.npy", oof)
    return report


def final_model(rows_path: Path, share: float, out: Path) -> None:
    from disambig.features import FEATURE_NAMES
    from disambig.model import PairwiseModel
    from disambig.training import LabelledCorpus, text_frequencies

    rows, is_pair = load_rows(rows_path)
    clf = fit(rows, is_pair, share)
    prior = text_frequencies([LabelledCorpus.read(DATA / f) for f in MENTION_FILES])
    card = {
        "version": f"medline-share-{share:g}",
        "training_files": [*MENTION_FILES, PAIR_FILE, "(+ both initials copies)"],
        "training_pairs": len(rows.same),
        "medline_weight_share": share,
    }
    PairwiseModel(clf, THRESHOLD, feature_names=FEATURE_NAMES, text_prior=prior, card=card).save(out)


def shipped(rows_path: Path) -> dict[str, object]:
    from disambig.model import load_model

    rows, is_pair = load_rows(rows_path)
    model = load_model(Path(__file__).resolve().parents[1] / "models" / "default")
    x = rows.features[is_pair]
    return {"shipped, all pairs (trained on them)": metrics(model.predict(x), rows.same[is_pair])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("rows", "cv", "final", "shipped"))
    parser.add_argument("--share", type=float, default=0.0)
    parser.add_argument("-o", "--output", type=Path)
    parser.add_argument("--rows", type=Path, default=CACHE / "rows.npz")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with threadpool_limits(1):
        if args.what == "rows":
            build_rows(args.rows)
        elif args.what == "cv":
            report = cross_validate(args.rows, args.share)
            print(json.dumps(report, indent=1))
            (CACHE / f"cv_{args.share:g}.json").write_text(json.dumps(report, indent=1))
        elif args.what == "final":
            final_model(args.rows, args.share, args.output)
        else:
            print(json.dumps(shipped(args.rows), indent=1))


if __name__ == "__main__":
    main()
