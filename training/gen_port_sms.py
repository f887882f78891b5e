#!/usr/bin/env python3
"""Generates the synthetic + hand-written labeled port-SMS set (Portcullis categories).

    python3 training/gen_port_sms.py            # writes port_sms_train.tsv and port_sms_test.tsv
    python3 training/gen_port_sms.py --stats    # also prints per-family counts
    python3 training/gen_port_sms.py --check-fixture tests/it/fixtures/port_sms.tsv

Python 3 standard library only; fixed seeds, so the output is byte-identical on every run.
The split is by template family (see training/README.md).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep training/gen free of __pycache__

from gen.common import FAMILIES, R  # noqa: E402
from gen import verification, service, service_more, marketing, loan, collection, fraud, illegal  # noqa: E402,F401
from gen.handwritten import HANDWRITTEN  # noqa: E402

LABELS = ["VERIFICATION", "SERVICE", "MARKETING", "LOAN_MARKETING", "COLLECTION", "FRAUD_SUSPECT", "ILLEGAL"]
TARGETS = {"VERIFICATION": 1800, "SERVICE": 2600, "MARKETING": 1600, "LOAN_MARKETING": 500,
           "COLLECTION": 500, "FRAUD_SUSPECT": 500, "ILLEGAL": 500}
TRAIN_SHARE = 0.75
SEED = "portcullis-port-sms-v1"


def valid(text):
    return 10 <= len(text) <= 300 and not any(c in text for c in "\t\r\n") and text == text.strip()


def split_quota(total, fams):
    """Largest-remainder split of total over families by weight."""
    if not fams:
        return {}
    wsum = sum(f.weight for f in fams)
    raw = [(f, total * f.weight / wsum) for f in fams]
    quota = {f.name: int(x) for f, x in raw}
    left = total - sum(quota.values())
    for f, x in sorted(raw, key=lambda p: (-(p[1] - int(p[1])), p[0].name))[:left]:
        quota[f.name] += 1
    return quota


# Abuse sent through a 106 port passes the gateway's template checks like any promotion: it is
# signed and offers the opt-out a commercial SMS must. A share of the fraud and illegal rows is
# dressed so (with an RNG of its own, so the undressed rows stay as they were): without it the
# model learnt that an opt-out notice means "not abuse" (a third probe's polite, signed,
# opt-out-carrying scams were 45% caught, see docs/model-card.md).
DRESSED = {"FRAUD_SUSPECT": 0.4, "ILLEGAL": 0.4}
COVERS = ["优选商城", "乐享生活", "鸿运文化", "悦享会所", "财税服务中心", "开心游戏", "金牌推荐", "会员中心",
          "惠民服务", "健康生活馆", "商务服务", "福利社"]


def dress(lab, t, r):
    if lab not in DRESSED or r.random() >= DRESSED[lab]:
        return t
    if "【" not in t and r.random() < 0.6:
        t = r.sig(r.pick(COVERS), t, 0.2)
    if t.endswith("】"):
        return t
    body = t if t[-1] in "。！!." else t + r.pick(["。", "，", " "])
    return body + r.optout()


def build():
    seen = set()
    rows = {"train": [], "test": []}
    stats = []  # (label, split, family, count)
    hand = {lab: [t for l, t in HANDWRITTEN if l == lab] for lab in LABELS}
    assert sum(len(v) for v in hand.values()) == len(HANDWRITTEN), "unknown label in HANDWRITTEN"
    for lab in LABELS:
        # Hand-written rows: alternate train/test in file order (50/50, deterministic).
        hw = {"train": hand[lab][0::2], "test": hand[lab][1::2]}
        for split, texts in hw.items():
            for t in texts:
                assert valid(t), f"bad hand-written row: {t!r}"
                assert t not in seen, f"duplicate hand-written row: {t!r}"
                seen.add(t)
                # Each hand-written row is a family of its own, named by its place in HANDWRITTEN.
                rows[split].append((lab, t, f"hw:{lab}:{hand[lab].index(t)}"))
            stats.append((lab, split, "handwritten", len(texts)))
        n_train = round(TARGETS[lab] * TRAIN_SHARE)
        want = {"train": n_train - len(hw["train"]), "test": TARGETS[lab] - n_train - len(hw["test"])}
        for split in ("train", "test"):
            fams = [f for f in FAMILIES if f.label == lab and f.split == split]
            assert fams, f"{lab} has no {split} family"
            for f in fams:
                q = split_quota(want[split], fams)[f.name]
                r = R(f"{SEED}:{f.name}")
                got, tries = 0, 0
                while got < q:
                    tries += 1
                    if tries > 200 * q + 1000:
                        raise SystemExit(f"family {f.name} exhausted at {got}/{q}")
                    t = dress(lab, f.fn(r), R(f"{SEED}:dress:{f.name}:{tries}"))
                    if not valid(t):
                        if len(t) > 300 or len(t) < 10:
                            raise SystemExit(f"family {f.name} made a bad length {len(t)}: {t!r}")
                        raise SystemExit(f"family {f.name} made an invalid text: {t!r}")
                    if t in seen:
                        continue
                    seen.add(t)
                    rows[split].append((lab, t, f.name))
                    got += 1
                stats.append((lab, split, f.name, got))
    return rows, stats


def write(path, rows):
    """label, text and the template family that made the row (readers find columns by name, so
    `portcullis train`/`eval` and scripts/classifier_eval.py ignore `family`; it is there for
    family-grouped dev folds: `scripts/classifier-eval --dev-seed N --port-family-fold K`)."""
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("label\ttext\tfamily\n")
        for lab, t, fam in rows:
            fh.write(f"{lab}\t{t}\t{fam}\n")


def main(argv):
    rows, stats = build()
    for split in ("train", "test"):
        R(f"{SEED}:shuffle:{split}").shuffle(rows[split])
        write(os.path.join(HERE, f"port_sms_{split}.tsv"), rows[split])
    print(f"{'label':<16}{'train':>7}{'test':>7}{'fam.tr':>8}{'fam.te':>8}")
    for lab in LABELS:
        c = {s: sum(1 for l, _, _ in rows[s] if l == lab) for s in ("train", "test")}
        nf = {s: sum(1 for f in FAMILIES if f.label == lab and f.split == s) for s in ("train", "test")}
        print(f"{lab:<16}{c['train']:>7}{c['test']:>7}{nf['train']:>8}{nf['test']:>8}")
    print(f"{'total':<16}{len(rows['train']):>7}{len(rows['test']):>7}")
    if "--stats" in argv:
        for lab, split, name, n in stats:
            print(f"  {lab:<15}{split:<6}{name:<34}{n:>5}")
    if "--check-fixture" in argv:
        path = argv[argv.index("--check-fixture") + 1]
        with open(path, encoding="utf-8") as fh:
            fixture = {line.rstrip("\n").split("\t", 1)[-1] for line in fh}
        ours = {t for s in rows.values() for _, t, _ in s}
        print(f"rows shared with {path}: {len(fixture & ours)}")


if __name__ == "__main__":
    main(sys.argv[1:])
