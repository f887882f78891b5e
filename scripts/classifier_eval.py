#!/usr/bin/env python3
"""Baseline vs Portcullis classifier report. Run it through scripts/classifier-eval, which sets up the venv.

Splits the three public labeled sets (deterministic, stratified, 80/20), trains a scikit-learn baseline
(char 1-3-gram TF-IDF + LinearSVC) on each train split, trains/evaluates Portcullis on the same splits
(plus our port-traffic set), and prints one markdown table, also written to OUT/report.{json,md}.

The splits are copies of public data sets we may not redistribute: they go under target/ (git-ignored).
Only the standard library is needed for the splits; scikit-learn is imported when the baseline runs.
"""

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# name -> (file in the data dir, kind). "binary" sets are spam/ham.
PUBLIC_SETS = {
    "zh": ("zh_spam_ham_50k.tsv", "binary"),
    "fbs": ("zh_fbs_spam_categories.tsv", "multi"),
    "en": ("en_uci_sms_spam.tsv", "binary"),
}
PORT_TRAIN = "training/port_sms_train.tsv"
PORT_TEST = "training/port_sms_test.tsv"
PORT_LEGIT = ["VERIFICATION", "SERVICE", "MARKETING", "LOAN_MARKETING", "COLLECTION"]
TEST_FRACTION = 0.2
FBS_MIN_TEST_ROWS = 20


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- data


def read_tsv(path):
    """Rows of (label, text) from a header-first, TAB-separated, never-quoted UTF-8 file.

    Columns are found by name in the header, so extra columns (zh's text_original) are ignored and
    the text is kept byte for byte.
    """
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise ValueError(f"{path}: empty file")
    header = lines[0].split("\t")
    try:
        li, ti = header.index("label"), header.index("text")
    except ValueError:
        raise ValueError(f"{path}: header must name the columns label and text, got {header}") from None
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) <= max(li, ti):
            raise ValueError(f"{path}:{n}: expected {len(header)} columns, got {len(fields)}")
        rows.append((fields[li], fields[ti]))
    return rows


def read_families(path):
    """The `family` column of a port file (training/gen_port_sms.py writes it), or None without one."""
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    header = lines[0].split("\t")
    if "family" not in header:
        return None
    fi = header.index("family")
    return [line.split("\t")[fi] for line in lines[1:] if line != ""]


def family_split(rows, families, seed, fold, folds=3):
    """Dev = the rows of one of `folds` groups of template families: per label, its families (sorted)
    get a seeded shuffle and are dealt round-robin to the groups, so every label has dev families
    the train part never saw. Same seed and fold: same files."""
    rng = random.Random(seed)
    fams_of = {}
    for (label, _), fam in zip(rows, families):
        fams_of.setdefault(label, set()).add(fam)
    dev_fams = set()
    for label in sorted(fams_of):
        fams = sorted(fams_of[label])
        rng.shuffle(fams)
        dev_fams.update(f for i, f in enumerate(fams) if i % folds == fold)
    train = [r for r, f in zip(rows, families) if f not in dev_fams]
    dev = [r for r, f in zip(rows, families) if f in dev_fams]
    return train, dev


def write_tsv(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("label\ttext\n")
        for label, text in rows:
            f.write(f"{label}\t{text}\n")


def stratified_split(rows, seed, fraction=TEST_FRACTION):
    """Per label, a seeded shuffle picks round(fraction) of its rows (at least 1 when it has 2+) for test.

    Only Python's `random` is used (stable across versions for a given seed); labels are handled in
    sorted order and both halves keep source order, so the same seed gives byte-identical files.
    """
    rng = random.Random(seed)
    by_label = {}
    for i, (label, _) in enumerate(rows):
        by_label.setdefault(label, []).append(i)
    test_idx = set()
    for label in sorted(by_label):
        idx = by_label[label]
        n_test = int(len(idx) * fraction + 0.5)
        if len(idx) >= 2:
            n_test = max(1, n_test)
        shuffled = idx[:]
        rng.shuffle(shuffled)
        test_idx.update(shuffled[:n_test])
    train = [r for i, r in enumerate(rows) if i not in test_idx]
    test = [r for i, r in enumerate(rows) if i in test_idx]
    return train, test


# ------------------------------------------------------------------------------------------- metrics


def per_class_metrics(y_true, y_pred, labels):
    out = {}
    for lab in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred) if t == lab and p == lab)
        n_pred = sum(1 for p in y_pred if p == lab)
        n_true = sum(1 for t in y_true if t == lab)
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_true if n_true else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[lab] = {"precision": prec, "recall": rec, "f1": f1, "support": n_true}
    return out


def macro_f1(classes, labels):
    """Mean F1 over `labels` (a label missing from `classes` counts as F1 0); None if no labels."""
    labels = list(labels)
    if not labels:
        return None
    return sum(classes.get(lab, {}).get("f1", 0.0) for lab in labels) / len(labels)


def summary_numbers(kind, classes, test_counts, accuracy, ham_flagged):
    """The numbers the table compares, from per-class metrics over the test split's labels."""
    s = {"accuracy": accuracy, "macro_f1": macro_f1(classes, sorted(test_counts))}
    if kind == "binary":
        s["spam_f1"] = classes.get("spam", {}).get("f1")
        s["ham_flagged_rate"] = ham_flagged
    if kind == "multi":
        big = sorted(lab for lab, n in test_counts.items() if n >= FBS_MIN_TEST_ROWS)
        s["macro_f1_min20"] = macro_f1(classes, big)
        s["macro_f1_min20_classes"] = len(big)
    return s


# ------------------------------------------------------------------------------------------ baseline


def make_baseline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
        LinearSVC(),
    )


def run_baseline(name, kind, train, test):
    model = make_baseline()
    t0 = time.perf_counter()
    model.fit([t for _, t in train], [lab for lab, _ in train])
    fit_s = time.perf_counter() - t0
    y_true = [lab for lab, _ in test]
    t0 = time.perf_counter()
    y_pred = list(model.predict([t for _, t in test]))
    predict_s = time.perf_counter() - t0
    test_counts = Counter(y_true)
    classes = per_class_metrics(y_true, y_pred, sorted(test_counts))
    accuracy = sum(1 for t, p in zip(y_true, y_pred) if t == p) / len(y_true)
    ham_flagged = None
    if kind == "binary":
        ham_pred = [p for t, p in zip(y_true, y_pred) if t == "ham"]
        ham_flagged = sum(1 for p in ham_pred if p == "spam") / len(ham_pred) if ham_pred else None
    res = {
        "classes": classes,
        "summary": summary_numbers(kind, classes, test_counts, accuracy, ham_flagged),
        "fit_seconds": fit_s,
        "predict_seconds": predict_s,
    }
    log(f"   baseline {name}: fit {fit_s:.1f} s, predict {predict_s:.2f} s, "
        f"accuracy {accuracy:.4f}, macro-F1 {res['summary']['macro_f1']:.4f}")
    return res, model


NUM_RUN = re.compile(r"[0-9]+")


def mask_like_zh(text):
    """Digit runs -> <NUM>, as zh_spam_ham_50k.tsv's `text` was made (its README, step 2, digits only)."""
    return NUM_RUN.sub("<NUM>", text)


def spam_rate(model, texts):
    if not texts:
        return None
    pred = model.predict(texts)
    return sum(1 for p in pred if p == "spam") / len(texts)


# ---------------------------------------------------------------------------------------- portcullis


def run_cmd(cmd, what):
    log(f"   $ {' '.join(str(c) for c in cmd)}")
    t0 = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout, secs


def parse_eval_json(stdout, what):
    try:
        return json.loads(stdout)
    except json.JSONDecodeError:
        pass
    for line in reversed(stdout.strip().splitlines()):  # tolerate stray lines before the object
        if line.lstrip().startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    raise RuntimeError(f"{what}: stdout is not one JSON object: {stdout[:300]!r}")


def portcullis_result(kind, ev, test_counts, notes, legit_labels=None):
    classes = ev.get("classes") or {}
    ham_flagged = None
    if kind == "binary" and "ham" in classes:
        ham_flagged = 1.0 - classes["ham"]["recall"]
    res = {
        "classes": classes,
        "summary": summary_numbers(kind, classes, test_counts, ev.get("accuracy"), ham_flagged),
        "eval_macro_f1": ev.get("macro_f1"),
        "flagged": ev.get("flagged"),
    }
    missing = sorted(set(test_counts) - set(classes))
    if missing:
        res["missing_classes"] = missing
        notes.append(f"portcullis eval output has no entry for {missing}; counted as F1 0")
        log(f"   warning: {notes[-1]}")
    if legit_labels is not None:
        flagged = ev.get("flagged")
        if flagged is None:
            res["summary"]["legit_flagged_rate"] = None
            notes.append("portcullis eval output has no `flagged`: port legit flagged rate not available")
            log(f"   note: {notes[-1]}")
        else:
            n = sum(test_counts.get(lab, 0) for lab in legit_labels)
            w = sum(flagged.get(lab, 0.0) * test_counts.get(lab, 0) for lab in legit_labels)
            res["summary"]["legit_flagged_rate"] = w / n if n else None
    return res


def portcullis_binary():
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    return target / "release" / "portcullis"


# -------------------------------------------------------------------------------------------- report

# (set, metric label, kind, summary key, aim text, aim check(baseline, portcullis) -> bool)
TABLE_ROWS = [
    ("zh", "spam F1", "score", "spam_f1", ">= baseline (~0.98)", lambda b, p: p >= b),
    ("zh", "ham flagged", "rate", "ham_flagged_rate", "well under 0.1%", lambda b, p: p < 0.001),
    ("fbs", f"macro-F1, classes with >= {FBS_MIN_TEST_ROWS} test rows", "score", "macro_f1_min20",
     ">= baseline (~0.93)", lambda b, p: p >= b),
    ("fbs", "macro-F1, all classes", "score", "macro_f1", "", None),
    ("en", "spam F1", "score", "spam_f1", ">= baseline (~0.94)", lambda b, p: p >= b),
    ("port", "macro-F1 (7 labels)", "score", "macro_f1", "", None),
    ("port", "legit flagged", "rate", "legit_flagged_rate", "<= 1%", lambda b, p: p <= 0.01),
]


def fmt(kind, v):
    if v is None:
        return ""
    if kind == "rate":
        return f"{100 * v:.3f}%"
    if kind == "seconds":
        return f"{v:.1f} s"
    return f"{v:.4f}"


def fmt_delta(kind, b, p):
    if b is None or p is None:
        return ""
    d = p - b
    if kind == "rate":
        return f"{100 * d:+.3f} pp"
    if kind == "seconds":
        return f"{d:+.1f} s"
    return f"{d:+.4f}"


def build_table(report):
    rows = []
    for ds, metric, kind, key, aim, check in TABLE_ROWS:
        entry = report["datasets"].get(ds) or {}
        b = (entry.get("baseline") or {}).get("summary", {}).get(key)
        p = (entry.get("portcullis") or {}).get("summary", {}).get(key)
        if ds == "port" and key == "legit_flagged_rate":
            b = entry.get("zh_baseline_on_legit_flagged_rate")
            metric = "legit flagged (baseline: zh spam/ham model)"
        met = ""
        if check is not None and p is not None and b is not None:
            met = "yes" if check(b, p) else "NO"
        elif check is not None and p is not None and "baseline" not in aim:
            met = "yes" if check(0.0, p) else "NO"
        rows.append({"dataset": ds, "metric": metric, "kind": kind, "baseline": b, "portcullis": p,
                     "aim": aim, "met": met})
    pc = report.get("portcullis") or {}
    rows.append({"dataset": "all", "metric": "training time (baseline: 4 separate fits)", "kind": "seconds",
                 "baseline": report.get("baseline_fit_seconds_total"), "portcullis": pc.get("train_seconds"),
                 "aim": "", "met": ""})
    return rows


def markdown_table(rows):
    out = ["| data set | metric | baseline | portcullis | delta | aim | met |",
           "| --- | --- | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        out.append(f"| {r['dataset']} | {r['metric']} | {fmt(r['kind'], r['baseline'])} | "
                   f"{fmt(r['kind'], r['portcullis'])} | {fmt_delta(r['kind'], r['baseline'], r['portcullis'])} | "
                   f"{r['aim']} | {r['met']} |")
    return "\n".join(out)


def markdown_report(report, table_md):
    lines = ["# Classifier evaluation: baseline vs Portcullis", "",
             f"Seed {report['seed']}; stratified {int(100 * (1 - TEST_FRACTION))}/{int(100 * TEST_FRACTION)} "
             f"splits of `{report['data_dir']}`; baseline: {report['baseline_model']}.", "", table_md, ""]
    lines.append("| data set | train rows | test rows | baseline fit | baseline predict |")
    lines.append("| --- | ---: | ---: | ---: | ---: |")
    for ds, e in report["datasets"].items():
        b = e.get("baseline") or {}
        lines.append(f"| {ds} | {e.get('train_rows', '')} | {e.get('test_rows', '')} | "
                     f"{fmt('seconds', b.get('fit_seconds'))} | {fmt('seconds', b.get('predict_seconds'))} |")
    if report["notes"]:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in report["notes"]]
    if report["errors"]:
        lines += ["", "Errors:", ""] + ["- " + e.replace("\n", "\n  ") for e in report["errors"]]
    lines += ["", "Data: zh_fbs_spam_categories.tsv is the FBS_SMS_Dataset of Zhang et al., \"Lies in the Air: "
              "Characterizing Fake-base-station Spam Ecosystem in China\", ACM CCS 2020; en_uci_sms_spam.tsv is the "
              "SMS Spam Collection v.1 (Almeida, Gomez Hidalgo, Yamakami, DocEng 2011). See ../shared/data/README.md.",
              ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- main


def parse_args():
    ap = argparse.ArgumentParser(
        prog="scripts/classifier-eval",
        description="Compare a TF-IDF+LinearSVC baseline with Portcullis' classifier on the same splits.")
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"),
                    help="directory with the public TSV sets (default: ../shared/data from the repo)")
    ap.add_argument("--out-dir", default="target/classifier-eval",
                    help="splits, model and report go here (default: target/classifier-eval)")
    ap.add_argument("--seed", type=int, default=42, help="split seed (default 42)")
    ap.add_argument("--model", help="evaluate this model instead of training one")
    ap.add_argument("--skip-train", action="store_true",
                    help="no cargo build and no training: evaluate --model or OUT/model.pcm")
    ap.add_argument("--baseline-only", action="store_true",
                    help="splits and baseline only, portcullis column left empty")
    ap.add_argument("--port-train", default=PORT_TRAIN, help=f"port train set (default {PORT_TRAIN})")
    ap.add_argument("--port-test", default=PORT_TEST, help=f"port test set (default {PORT_TEST})")
    ap.add_argument("--dev-seed", type=int,
                    help="tuning mode: split each TRAIN split (and the port train set) again with this seed, "
                         "train on the rest and score on that dev part; the test splits are not read")
    ap.add_argument("--dev-fraction", type=float, default=0.125,
                    help="share of each train split held out as dev with --dev-seed (default 0.125)")
    ap.add_argument("--port-family-fold", type=int, choices=[0, 1, 2],
                    help="with --dev-seed: the port dev part is this fold of 3 folds of whole template families "
                         "(the `family` column) instead of a row-wise split")
    ap.add_argument("--no-build", action="store_true", help="use the built binary as it is (no cargo build)")
    ap.add_argument("--train-args", default="", help="extra flags for `portcullis train` (one string)")
    ap.add_argument("--eval-args", default="", help="extra flags for `portcullis eval` (one string)")
    return ap.parse_args()


def repo_path(p):
    p = Path(p)
    return p if p.is_absolute() else REPO / p


def main():
    args = parse_args()
    os.chdir(REPO)
    data_dir = Path(args.data_dir)
    out = Path(args.out_dir)
    splits = out / "splits"
    missing = [f for f, _ in PUBLIC_SETS.values() if not (data_dir / f).is_file()]
    if missing:
        log(f"error: {data_dir} lacks {', '.join(missing)} (give the data directory with --data-dir)")
        return 1
    splits.mkdir(parents=True, exist_ok=True)
    import sklearn

    report = {
        "seed": args.seed,
        "data_dir": str(data_dir),
        "baseline_model": "TfidfVectorizer(analyzer='char', ngram_range=(1,3), sublinear_tf=True) + LinearSVC()",
        "versions": {"python": platform.python_version(), "scikit-learn": sklearn.__version__},
        "datasets": {},
        "portcullis": None,
        "notes": [],
        "errors": [],
    }
    notes = report["notes"]
    if args.dev_seed is not None:
        report["dev_seed"] = args.dev_seed
        notes.append(f"DEV mode: the 'test' columns are a {args.dev_fraction:g} dev split (seed {args.dev_seed}) of "
                     f"each train split; training used the rest; no test split was read")
    if args.train_args or args.eval_args:
        notes.append(f"portcullis train args: {args.train_args!r}; eval args: {args.eval_args!r}")

    # 1. splits
    log(f"== splitting (seed {args.seed}) into {splits}/")
    split_files = {}
    test_rows = {}
    for name, (fname, kind) in PUBLIC_SETS.items():
        rows = read_tsv(data_dir / fname)
        train, test = stratified_split(rows, args.seed)
        if args.dev_seed is not None:
            train, test = stratified_split(train, args.dev_seed, args.dev_fraction)
        tr, te = splits / f"{name}_train.tsv", splits / f"{name}_test.tsv"
        write_tsv(tr, train)
        write_tsv(te, test)
        split_files[name] = (tr, te, kind)
        test_rows[name] = (train, test)
        report["datasets"][name] = {"source": fname, "train_file": str(tr), "test_file": str(te),
                                    "train_rows": len(train), "test_rows": len(test),
                                    "test_label_counts": dict(sorted(Counter(l for l, _ in test).items()))}
        log(f"   {name}: {len(rows)} rows -> train {len(train)}, test {len(test)}")

    port_train, port_test = repo_path(args.port_train), repo_path(args.port_test)
    have_port = port_train.is_file() and port_test.is_file()
    if have_port:
        ptrain, ptest = read_tsv(port_train), read_tsv(port_test)
        if args.dev_seed is not None and args.port_family_fold is not None:
            families = read_families(port_train)
            if families is None or len(families) != len(ptrain):
                log(f"error: {args.port_train} has no family column (regenerate it with training/gen_port_sms.py)")
                return 1
            # One fixed shuffle (seed 1), so folds 0, 1 and 2 partition the families.
            ptrain, ptest = family_split(ptrain, families, 1, args.port_family_fold)
            notes.append(f"port dev = template-family fold {args.port_family_fold} of 3")
        elif args.dev_seed is not None:
            ptrain, ptest = stratified_split(ptrain, args.dev_seed, args.dev_fraction)
        if args.dev_seed is not None:
            port_train, port_test = splits / "port_train.tsv", splits / "port_test.tsv"
            write_tsv(port_train, ptrain)
            write_tsv(port_test, ptest)
            args.port_train, args.port_test = str(port_train), str(port_test)
        report["datasets"]["port"] = {"train_file": str(args.port_train), "test_file": str(args.port_test),
                                      "train_rows": len(ptrain), "test_rows": len(ptest),
                                      "test_label_counts": dict(sorted(Counter(l for l, _ in ptest).items()))}
    else:
        msg = f"port set skipped: {args.port_train} and/or {args.port_test} not found"
        log(f"   {msg}")
        notes.append(msg)

    # 2. baseline
    log("== baseline: char 1-3-gram TF-IDF + LinearSVC")
    zh_model = None
    for name, (tr, te, kind) in split_files.items():
        train, test = test_rows[name]
        res, model = run_baseline(name, kind, train, test)
        report["datasets"][name]["baseline"] = res
        if name == "zh":
            zh_model = model
    if have_port:
        res, _ = run_baseline("port", "multi", ptrain, ptest)
        report["datasets"]["port"]["baseline"] = res
        legit = [t for lab, t in ptest if lab in PORT_LEGIT]
        rate = spam_rate(zh_model, legit)
        rate_masked = spam_rate(zh_model, [mask_like_zh(t) for t in legit])
        report["datasets"]["port"]["zh_baseline_on_legit_flagged_rate"] = rate
        report["datasets"]["port"]["zh_baseline_on_legit_flagged_rate_digits_masked"] = rate_masked
        report["datasets"]["port"]["legit_test_rows"] = len(legit)
        if rate is not None:
            log(f"   zh baseline on {len(legit)} legitimate port test rows: {100 * rate:.2f}% predicted spam "
                f"({100 * rate_masked:.2f}% with digits masked as <NUM> like the zh set)")
            notes.append(f"zh spam/ham baseline on the {len(legit)} legitimate port test rows, digits masked as "
                         f"<NUM> first (as the zh set's text is): {100 * rate_masked:.2f}% predicted spam")
    report["baseline_fit_seconds_total"] = sum(
        e["baseline"]["fit_seconds"] for e in report["datasets"].values() if "baseline" in e)

    # 3. portcullis
    if args.baseline_only:
        notes.append("--baseline-only: Portcullis not built, trained or evaluated")
    else:
        try:
            report["portcullis"] = run_portcullis(args, out, split_files, have_port, port_train, port_test, report)
        except (RuntimeError, OSError) as e:
            log(f"error: {e}")
            report["errors"].append(str(e))

    # 4. report
    report["table"] = build_table(report)
    table_md = markdown_table(report["table"])
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown_report(report, table_md), encoding="utf-8")
    print(table_md)
    for n in notes:
        print(f"note: {n}")
    print(f"(written to {out / 'report.md'} and {out / 'report.json'})")
    return 1 if report["errors"] else 0


def run_portcullis(args, out, split_files, have_port, port_train, port_test, report):
    info = {"build_seconds": None, "train_seconds": None}
    binary = portcullis_binary()
    if not args.skip_train and not args.no_build:
        log("== cargo build --release --locked")
        _, info["build_seconds"] = run_cmd(["cargo", "build", "--release", "--locked"], "cargo build")
        report["notes"].append(f"cargo build --release --locked took {info['build_seconds']:.1f} s (not in the table)")
    if not binary.is_file():
        raise RuntimeError(f"{binary} not found (build it, or run without --skip-train)")
    if args.model:
        model = Path(args.model)
        info["model_source"] = "given with --model"
    elif args.skip_train:
        model = out / "model.pcm"
        info["model_source"] = "earlier run (--skip-train)"
    else:
        model = out / "model.pcm"
        data = [split_files[n][0] for n in ("zh", "fbs", "en")]
        if have_port:
            data.append(args.port_train)
        else:
            report["notes"].append("Portcullis trained without the port set (not found)")
        log("== portcullis train")
        _, info["train_seconds"] = run_cmd(
            [binary, "train", "--data", *data, "--out", model, "--seed", "1", *args.train_args.split()],
            "portcullis train")
        info["model_source"] = "trained by this run"
        log(f"   trained in {info['train_seconds']:.1f} s")
    if not model.is_file():
        raise RuntimeError(f"model {model} not found")
    info["model"] = str(model)
    info["model_bytes"] = model.stat().st_size

    log("== portcullis eval")
    targets = [(n, te, kind) for n, (_, te, kind) in split_files.items()]
    if have_port:
        targets.append(("port", args.port_test, "multi"))
    for name, test_file, kind in targets:
        try:  # one failing set is reported, the others are still evaluated
            stdout, secs = run_cmd([binary, "eval", "--model", model, "--data", test_file, "--json",
                                    *args.eval_args.split()],
                                   f"portcullis eval on {test_file}")
            ev = parse_eval_json(stdout, f"portcullis eval on {test_file}")
        except RuntimeError as e:
            log(f"error: {e}")
            report["errors"].append(str(e))
            continue
        counts = report["datasets"][name]["test_label_counts"]
        res = portcullis_result(kind, ev, counts, report["notes"], PORT_LEGIT if name == "port" else None)
        res["eval_seconds"] = secs
        report["datasets"][name]["portcullis"] = res
        log(f"   {name}: accuracy {fmt('score', res['summary']['accuracy'])}, "
            f"macro-F1 {fmt('score', res['summary']['macro_f1'])} ({secs:.1f} s)")
    return info


if __name__ == "__main__":
    sys.exit(main())
