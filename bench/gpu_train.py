"""A few minutes of 96-px training on a lent GPU, through the ordinary CLI, and what they show.

    python bench/gpu_train.py pack --out .gpu_data                  # here: a slice of the real subset (JPEGs, ~40 MB)
    python bench/gpu_train.py run --data .gpu_data --out $OUT       # there: train the `gpu` preset ~6 min, then score
    python bench/gpu_train.py run --dry --data DIR --out DIR        # CPU, `smoke`, seconds: the CI check of this script

The device machine gets only the working tree (64 MiB), so `pack` copies a class-balanced slice of the JPEG files
(by default 8,000 train, 1,000 valid and 1,000 test patches) into a git-ignored folder that the device call carries.
`run` trains with `histogan train` (checkpoints every `--ckpt-every` steps, `train.max_minutes` of wall time on a
GPU), then scores the run with `histogan_nb.results.score_run`: FID of `--fid-n` class-balanced samples against the
validation patches beside the real-vs-real floor (test vs validation at the same n), per-class FID, the class
head's validation AUC, and a sample grid. Everything lands flat in `--out` (the device tool brings back at most 8
files): `summary.json` (card, steps, minutes, steps/s, AUC, FID, floor), `log.csv`, `evals.csv`, `samples.png`.
"""
import argparse, json, os, shutil, subprocess, sys, time
from pathlib import Path
import numpy as np

SPLITS = {'train': 'n_train', 'valid': 'n_valid', 'test': 'n_test'}

def pack(src: Path, out: Path, n_train: int, n_valid: int, n_test: int, seed: int = 0) -> dict:
    "Copy a class-balanced random slice of each split's image files, keeping the `{split}/{label}/` layout."
    from histogan_nb.data import list_files, find_classes
    counts, rng = dict(train=n_train, valid=n_valid, test=n_test), np.random.default_rng(seed)
    if out.exists(): shutil.rmtree(out)
    info = {}
    for split, n in counts.items():
        files, labels = list_files(src, split)
        classes = find_classes(src, split)
        per = n // len(classes)
        for k, name in enumerate(classes):
            idx = np.flatnonzero(labels == k)
            if len(idx) < per: raise SystemExit(f"{src}/{split}/{name} has {len(idx)} images; the slice needs {per}")
            d = out/split/name; d.mkdir(parents=True)
            for i in rng.choice(idx, per, replace=False): shutil.copy(files[i], d/files[i].name)
        info[split] = per*len(classes)
    size = sum(f.stat().st_size for f in out.rglob('*') if f.is_file())
    print(f"packed {info} into {out} ({size/2**20:.1f} MiB)")
    return dict(counts=info, mib=size/2**20)

def run(data: Path, out: Path, preset: str, minutes: float, fid_n: int, ckpt_every: int, extra: list) -> dict:
    "Train `preset` on `data` for `minutes`, score it, and write the summary and its files flat into `out`."
    import torch
    from histogan_nb.results import score_run
    out.mkdir(parents=True, exist_ok=True)
    run_dir = out.parent/(out.name + '-run') if out.name else out/'run'
    sets = {'data.train_count': 'None', 'data.valid_count': 'None', 'data.test_count': 'None',
            'train.max_minutes': minutes, 'train.max_steps': 10**7, 'runtime.ckpt_every': ckpt_every,
            'train.eval_every': ckpt_every, 'train.fid_images': 0}
    cmd = [sys.executable, '-m', 'histogan_nb.cli', 'train', '--preset', preset, '--data', str(data), '--out', str(run_dir),
           '--quiet', *[a for k, v in sets.items() for a in ('--set', f'{k}={v}')], *[a for s in extra for a in ('--set', s)]]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    summ = json.loads((run_dir/'summary.json').read_text())
    score = score_run(run_dir, fid_n, 'valid')
    card = torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'
    res = dict(card=card, preset=preset, steps=summ['steps'], train_minutes=summ['train_s']/60, wall_minutes=wall/60,
               steps_per_s=summ['steps']/summ['train_s'], real_images_per_s=summ['images_per_s'],
               valid_auc=score['valid_auc'], fid=score['fid'], fid_floor=score['fid_floor'], fid_ratio=score['fid_ratio'],
               fid_class0=score.get('fid_class0'), fid_class1=score.get('fid_class1'), fid_n=fid_n,
               data={s: len(list((data/s).rglob('*.*'))) for s in SPLITS}, torch=torch.__version__, config=summ['config'])
    (out/'summary.json').write_text(json.dumps(res, indent=1, default=float))
    for f in ('log.csv', 'evals.csv', 'samples.png'):
        if (run_dir/f).exists(): shutil.copy(run_dir/f, out/f)
    print(json.dumps({k: v for k, v in res.items() if k != 'config'}, indent=1, default=float))
    return res

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('pack', help='copy a slice of the real subset into an ignored folder (run here)')
    p.add_argument('--src', default=None, help='class-folder tree (default: the kit default data path)')
    p.add_argument('--out', default='.gpu_data')
    p.add_argument('--n-train', type=int, default=8000); p.add_argument('--n-valid', type=int, default=1000)
    p.add_argument('--n-test', type=int, default=1000); p.add_argument('--seed', type=int, default=0)
    r = sub.add_parser('run', help='train and score (run on the GPU machine)')
    r.add_argument('--data', required=True); r.add_argument('--out', required=True)
    r.add_argument('--preset', default='gpu'); r.add_argument('--minutes', type=float, default=6.0)
    r.add_argument('--fid-n', type=int, default=1000, help='class-balanced images per side for FID (<= the valid and test slices)')
    r.add_argument('--ckpt-every', type=int, default=500)
    r.add_argument('--set', action='append', default=[], metavar='SECTION.FIELD=VALUE')
    r.add_argument('--dry', action='store_true', help='CPU, smoke preset, a few seconds, 8 images per side (CI)')
    a = ap.parse_args(argv)
    if a.cmd == 'pack':
        from histogan_nb.config import default_data_path
        return pack(Path(a.src or default_data_path()), Path(a.out), a.n_train, a.n_valid, a.n_test, a.seed)
    if a.dry: a.preset, a.minutes, a.fid_n, a.ckpt_every, a.set = 'smoke', 0.05, 8, 2, a.set + ['runtime.device=cpu']
    return run(Path(a.data), Path(a.out), a.preset, a.minutes, a.fid_n, a.ckpt_every, a.set)

if __name__ == '__main__':
    main()
