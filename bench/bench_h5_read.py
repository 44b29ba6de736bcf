"""Benchmark (not a test): PCam HDF5 read throughput through a DataLoader, and the memory it takes.

Writes a PCam-format file of N patches (default 20,000: 553 MB of uint8) with `write_pcam_h5` in a child
process, then reads one epoch through `open_dataset` + `DataLoader` with 0 and 2 workers, in file order and
shuffled, while a thread samples the resident memory of this process and its workers every 20 ms.
RSS counts pages shared between the parent and forked workers once per process; PSS splits them, so the
PSS sum is the honest total. The file is read right after it is written, so it sits in the page cache
(a warm read; a cold read from disk is bounded by the disk instead).

    .venv/bin/python bench/bench_h5_read.py [--n 20000] [--batch 128] [--workers 0 2] [--json out.json]
"""
import argparse, json, multiprocessing as mp, os, platform, tempfile, threading, time
from pathlib import Path
import numpy as np
import psutil
import torch
from torch.utils.data import DataLoader
from histogan_nb.data import open_dataset, pcam_name, write_pcam_h5

MB = 2**20

def make_file(root, n, seed=0):
    "Random patches with balanced labels, written in PCam's layout (runs in a child so its memory goes away)."
    rng = np.random.default_rng(seed)
    write_pcam_h5(root, 'train', rng.integers(0, 256, (n, 96, 96, 3), dtype=np.uint8), np.arange(n) % 2)

def _pss(p):
    try: return p.memory_full_info().pss
    except (psutil.Error, AttributeError): return 0

class MemSampler(threading.Thread):
    "Peak RSS of this process, and peak RSS and PSS summed over this process and its children."
    def __init__(self, every=0.02, pss_every=10):
        super().__init__(daemon=True); self.every, self.pss_every, self.stop_evt = every, pss_every, threading.Event()
        self.count = 0
        self.peak_main_rss = self.peak_rss_sum = self.peak_pss_sum = 0
    def sample(self, pss=True):
        me = psutil.Process(); procs = [me, *me.children(recursive=True)]
        rss = [p.memory_info().rss for p in procs if p.is_running()]
        self.peak_main_rss = max(self.peak_main_rss, rss[0])
        self.peak_rss_sum = max(self.peak_rss_sum, sum(rss))
        if pss: self.peak_pss_sum = max(self.peak_pss_sum, sum(_pss(p) for p in procs))
    def run(self):
        while not self.stop_evt.is_set():
            self.count += 1
            try: self.sample(pss=self.count % self.pss_every == 0)  # PSS reads smaps: costly, so less often
            except psutil.Error: pass
            time.sleep(self.every)
    def stop(self): self.stop_evt.set(); self.join(); return self

def read_epoch(ds, batch, workers, shuffle):
    dl = DataLoader(ds, batch_size=batch, num_workers=workers, shuffle=shuffle, drop_last=False)
    mem = MemSampler(); mem.start()
    t, n, check = time.perf_counter(), 0, 0
    for x, y in dl: n += len(x); check += int(x[:, :, 48, 48].sum())  # touch the data
    dt = time.perf_counter() - t
    mem.stop(); mem.sample()
    return dict(workers=workers, shuffle=shuffle, batch=batch, patches=n, seconds=round(dt, 3),
                patches_per_s=round(n / dt), peak_main_rss_mb=round(mem.peak_main_rss / MB),
                peak_rss_sum_mb=round(mem.peak_rss_sum / MB), peak_pss_sum_mb=round(mem.peak_pss_sum / MB))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=20000)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--workers', type=int, nargs='+', default=[0, 2])
    ap.add_argument('--dir', default=None, help='where to write the file (default: a temporary folder)')
    ap.add_argument('--json', default=None, help='also write the results here')
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        t = time.perf_counter()
        child = mp.get_context('spawn').Process(target=make_file, args=(d, args.n)); child.start(); child.join()
        if child.exitcode: raise SystemExit(f"writing the benchmark file failed (exit {child.exitcode})")
        write_s = time.perf_counter() - t
        size = (Path(d)/pcam_name('train', 'x')).stat().st_size
        ds = open_dataset(d, 'train', image_size=96)
        base_rss, base_pss = psutil.Process().memory_info().rss, _pss(psutil.Process())
        rows = [read_epoch(ds, args.batch, w, s) for w in args.workers for s in (False, True)]
    res = dict(file_mb=round(size / MB), n=args.n, write_s=round(write_s, 1), base_rss_mb=round(base_rss / MB),
               base_pss_mb=round(base_pss / MB),
               machine=f"{platform.node()} {os.cpu_count()} cpus, torch {torch.__version__}", rows=rows)
    print(f"PCam-format HDF5: {args.n:,} patches, x file {res['file_mb']} MB (written in {res['write_s']} s); "
          f"{res['machine']}; before reading: RSS {res['base_rss_mb']} MB, PSS {res['base_pss_mb']} MB (mostly torch's libraries)")
    print(f"{'workers':>7} {'order':>8} {'patches/s':>10} {'peak RSS main':>14} {'peak RSS all':>13} {'peak PSS all':>13}")
    for r in rows:
        print(f"{r['workers']:>7} {'shuffled' if r['shuffle'] else 'file':>8} {r['patches_per_s']:>10,} "
              f"{r['peak_main_rss_mb']:>11} MB {r['peak_rss_sum_mb']:>10} MB {r['peak_pss_sum_mb']:>10} MB")
    worst = max(r['peak_pss_sum_mb'] for r in rows)
    res['peak_added_pss_mb'] = worst - res['base_pss_mb']
    print(f"peak PSS of all processes {worst} MB; reading added at most {res['peak_added_pss_mb']} MB over the idle process "
          f"= {res['peak_added_pss_mb'] / res['file_mb']:.0%} of the {res['file_mb']} MB file")
    if args.json: Path(args.json).write_text(json.dumps(res, indent=1))
    return res

if __name__ == '__main__': main()
