"Integration tests of the `histogan` command line: train, resume after a kill, DDP on 2 CPU processes, sample, evaluate, classify, bad input."
import contextlib, io, json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image

from histogan_nb.data import open_dataset
from histogan_nb.run import load_checkpoint
from histogan_nb.cli import main

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}
SMALL = ['--set', 'data.train_count=None', '--set', 'data.valid_count=None', '--set', 'data.test_count=None']

class Result:
    def __init__(self, returncode, stdout, stderr): self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

def histogan(*args, check=True):
    "Run the `histogan` entry point in this process (a subprocess costs seconds of imports); capture its output."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): code = main(list(map(str, args)))
    r = Result(code, out.getvalue(), err.getvalue())
    if check: assert r.returncode == 0, r.stderr[-3000:]
    return r

def make_tree(root, counts, size=96):
    "A class-folder tree of PNG patches; label-1 patches are brighter."
    rng = np.random.default_rng(0)
    for split, per_class in counts.items():
        for label, n in enumerate(per_class):
            d = root/split/str(label); d.mkdir(parents=True)
            for i in range(n):
                a = rng.integers(0, 160, (size, size, 3)) + 80*label
                Image.fromarray(a.astype(np.uint8)).save(d/f'p{i:04d}.png')

@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp('pcam_tree')
    make_tree(root, counts={'train': (24, 24), 'valid': (8, 8), 'test': (8, 8)})
    return root

@pytest.fixture(scope='module')
def trained(tree, tmp_path_factory):
    out = tmp_path_factory.mktemp('run')
    histogan('train', '--preset', 'smoke', '--data', tree, '--out', out, '--max-steps', 4, '--quiet', *SMALL)
    return out

def test_train_outputs(trained):
    for f in ('last.pt', 'best_cls.pt', 'log.csv', 'evals.csv', 'summary.json'): assert (trained/f).exists(), f
    assert load_checkpoint(trained/'last.pt')['step'] == 4

def weights(ck): return {f'{k}.{n}': v for k in ('G', 'D', 'mlw') for n, v in ck[k].items()}

def test_resume_after_kill_equals_uninterrupted(tree, tmp_path):
    steps = ['--max-steps', 40, '--set', 'runtime.ckpt_every=2', '--set', 'train.eval_every=1000', '--quiet', *SMALL]
    a, b = tmp_path/'a', tmp_path/'b'
    histogan('train', '--preset', 'smoke', '--data', tree, '--out', a, *steps)
    proc = subprocess.Popen([sys.executable, '-m', 'histogan_nb.cli', 'train', '--preset', 'smoke', '--data', str(tree),
                             '--out', str(b), *map(str, steps)], env=ENV, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while time.time() - t0 < 120:
        if (b/'last.pt').exists() and load_checkpoint(b/'last.pt')['step'] >= 6: break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL); proc.wait()
    assert proc.returncode == -signal.SIGKILL, 'the run finished before it could be killed'
    killed_at = load_checkpoint(b/'last.pt')['step']
    assert 6 <= killed_at < 40
    r = subprocess.run([sys.executable, '-m', 'histogan_nb.cli', 'train', '--preset', 'smoke', '--data', str(tree),
                        '--out', str(b), '--resume', *map(str, steps)], env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    wa, wb = weights(load_checkpoint(a/'last.pt')), weights(load_checkpoint(b/'last.pt'))
    assert wa.keys() == wb.keys()
    for k in wa: assert torch.equal(wa[k], wb[k]), k
    rows = (b/'log.csv').read_text().splitlines()
    assert len(rows) == 41 and [int(r.split(',')[0]) for r in rows[1:]] == list(range(1, 41))

@pytest.mark.parametrize('apart', ['false', 'true'])   # the penalty's own pass goes round DDP's wrapper
def test_ddp_two_cpu_processes(tmp_path, apart):
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                        str(ROOT/'tests'/'ddp_worker.py'), str(tmp_path), f'runtime.penalty_apart={apart}'],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    r0, r1 = torch.load(tmp_path/'rank0.pt', weights_only=True), torch.load(tmp_path/'rank1.pt', weights_only=True)
    assert r0['world'] == r1['world'] == 2 and r0['apart'] == (apart == 'true')
    for k in ('G', 'D', 'mlw'):
        for n in r0[k]: assert torch.equal(r0[k][n], r1[k][n]), f'{k}.{n} differs between ranks'
    # every D step: each rank took half of the global batch of 8, and the halves are disjoint
    assert r0['seen'].shape == r1['seen'].shape and r0['seen'].shape[1] == 4
    for a, b in zip(r0['seen'], r1['seen']): assert not set(a.tolist()) & set(b.tolist())

def test_ddp_ranks_stop_together_on_a_signal_to_one(tmp_path):
    "SIGTERM to rank 0 alone after step 3 of 10: both ranks stop after step 4 (the next agreement), nobody hangs."
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                        str(ROOT/'tests'/'ddp_worker.py'), str(tmp_path), 'sigterm_rank0_at=3'],
                       capture_output=True, text=True, env=ENV, timeout=240)
    assert r.returncode != 0, 'a stopped run must not exit 0'
    stops = [json.loads((tmp_path/f'stopped{k}.json').read_text()) for k in (0, 1)]
    assert stops[0] == stops[1] == dict(step=4, signal=int(signal.SIGTERM)), (stops, r.stderr[-2000:])

def test_sample_evaluate_classify(trained, tree, tmp_path):
    histogan('sample', '--checkpoint', trained/'best_cls.pt', '--n', 6, '--tau', 0.7, '--out', tmp_path/'syn')
    ds = open_dataset(tmp_path/'syn', 'train', image_size=32)
    assert len(ds) == 12 and sorted(np.bincount(ds.labels).tolist()) == [6, 6]
    Image.open(tmp_path/'syn'/'samples.png').verify()
    r = histogan('evaluate', '--checkpoint', trained/'best_cls.pt', '--data', tree, '--split', 'test', '--out', tmp_path/'m.json')
    import json; m = json.loads((tmp_path/'m.json').read_text())
    assert {'accuracy', 'auc', 'sensitivity', 'specificity', 'ece', 'auc_ci95'} <= set(m) and m['n'] == 16
    histogan('classify', '--checkpoint', trained/'best_cls.pt', '--images', tree/'test', '--out', tmp_path/'c.csv')
    rows = (tmp_path/'c.csv').read_text().splitlines()
    assert rows[0] == 'path,p_tumour,label' and len(rows) == 17
    assert all(0 <= float(r.split(',')[1]) <= 1 for r in rows[1:])

def one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and all(w in lines[0] for w in words), r.stderr
    return lines[0]

def test_bad_input(trained, tree, tmp_path):
    one_line_error(histogan('train', '--preset', 'huge', '--out', tmp_path, check=False), 'unknown preset', 'smoke')
    one_line_error(histogan('train', '--preset', 'smoke', '--data', tmp_path/'none', '--out', tmp_path, check=False), 'data path', 'does not exist')
    # a checkpoint of another model config
    one_line_error(histogan('train', '--preset', 'smoke', '--data', tree, '--out', trained, '--resume', '--set', 'model.g_dim=256',
                            *SMALL, check=False), 'another model config', 'g_dim')
    # an image of the wrong size
    bad = tmp_path/'imgs'; bad.mkdir(); Image.fromarray(np.zeros((50, 40, 3), np.uint8)).save(bad/'odd.png')
    one_line_error(histogan('classify', '--checkpoint', trained/'best_cls.pt', '--images', bad, '--out', tmp_path/'c.csv', check=False),
                   'odd.png', '40x50')
    one_line_error(histogan('sample', '--checkpoint', tmp_path/'missing.pt', '--out', tmp_path, check=False), 'checkpoint', 'does not exist')

def test_help():
    for cmd in ('train', 'sample', 'evaluate', 'classify'):
        r = histogan(cmd, '--help'); assert 'usage: histogan ' + cmd in r.stdout

def test_sigterm_stops_after_a_step_and_resume_is_exact(tree, tmp_path):
    "SIGTERM at a random moment: exit 143 with one line, last.pt at a whole step, no summary; --resume ends as an uninterrupted run."
    steps = ['--max-steps', 40, '--set', 'runtime.ckpt_every=1000', '--set', 'train.eval_every=1000', '--quiet', *SMALL]
    a, b = tmp_path/'a', tmp_path/'b'
    histogan('train', '--preset', 'smoke', '--data', tree, '--out', a, *steps)
    cmd = [sys.executable, '-m', 'histogan_nb.cli', 'train', '--preset', 'smoke', '--data', str(tree), '--out', str(b), *map(str, steps)]
    proc = subprocess.Popen(cmd, env=ENV, stderr=subprocess.PIPE, text=True)
    at, t0 = np.random.default_rng().integers(3, 20), time.time()
    while time.time() - t0 < 120:          # wait until the log holds `at` steps (it is flushed every step at smoke)
        if (b/'log.csv').exists() and len((b/'log.csv').read_text().splitlines()) > at: break
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM); _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, (proc.returncode, err[-2000:])
    step = load_checkpoint(b/'last.pt')['step']
    assert err.strip().splitlines()[-1] == f'histogan train: stopped at step {step} by SIGTERM; continue with --resume', err
    assert at <= step < 40 and not (b/'summary.json').exists()
    assert len((b/'log.csv').read_text().splitlines()) == step + 1           # every finished step logged, once
    r = subprocess.run(cmd + ['--resume'], env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    wa, wb = weights(load_checkpoint(a/'last.pt')), weights(load_checkpoint(b/'last.pt'))
    for k in wa: assert torch.equal(wa[k], wb[k]), k

def test_one_writer_per_output_folder(tree, tmp_path):
    "A second train on a folder in use is refused, naming the holder; after the holder is killed its lock is taken over."
    steps = ['--max-steps', 10**6, '--set', 'runtime.ckpt_every=5', '--set', 'train.eval_every=1000', '--quiet', *SMALL]
    cmd = [sys.executable, '-m', 'histogan_nb.cli', 'train', '--preset', 'smoke', '--data', str(tree), '--out', str(tmp_path), *map(str, steps)]
    first, t0 = subprocess.Popen(cmd, env=ENV, stderr=subprocess.PIPE, text=True), time.time()
    try:
        while not (tmp_path/'last.pt').exists() and time.time() - t0 < 120: time.sleep(0.05)
        for extra in ([], ['--resume']):      # a second run, and a scheduler restarting the first while it still runs
            r = subprocess.run(cmd + extra, env=ENV, capture_output=True, text=True)
            assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr[-2000:]
            assert f'{tmp_path} is being written by process {first.pid} on ' in r.stderr, r.stderr
    finally: first.kill(); first.wait()
    r = subprocess.run(cmd[:cmd.index('--max-steps') + 1] + ['12'] + cmd[cmd.index('--max-steps') + 2:] + ['--resume'],
                       env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
