"The speed tools: `bench/gpu_bench.py --dry` runs on CPU, and `run_bench` writes the documented JSON fields."
import json, os, subprocess, sys
from pathlib import Path
from histogan_nb.bench import run_bench

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ('images_per_s', 'step_ms', 'd_ms', 'gp_ms', 'g_ms', 'peak_mem_mb', 'flops_per_step', 'mfu',
          'f2_patches_per_s', 'resnet34_patches_per_s', 'preset', 'device', 'threads', 'n_critic', 'batch_size')

def test_run_bench_smoke_json(tmp_path):
    r = run_bench('smoke', steps=2, json_out=str(tmp_path/'b.json'), device='cpu', print_table=False,
                  overrides={'runtime.threads': 1}, infer_batch=8)
    saved = json.loads((tmp_path/'b.json').read_text())
    missing = [f for f in FIELDS if f not in saved]
    assert not missing, f'missing JSON fields {missing}'
    assert saved['preset'] == 'smoke' and saved['device'] == 'cpu' and saved['mfu'] is None
    for k in ('images_per_s', 'step_ms', 'g_ms', 'flops_per_step', 'f2_patches_per_s', 'resnet34_patches_per_s'):
        assert saved[k] > 0, k
    assert saved['d_ms'] + saved['gp_ms'] + saved['g_ms'] <= saved['step_ms']*1.05 + 1
    assert abs(saved['images_per_s'] - saved['n_critic']*saved['batch_size']*1e3/saved['step_ms']) < 1e-6*saved['images_per_s']

def test_gpu_bench_dry(tmp_path):
    out = tmp_path/'g.json'
    res = subprocess.run([sys.executable, '-m', 'bench.gpu_bench', '--dry', '--json', str(out)],   # as on a GPU machine
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    rows = json.loads(out.read_text())
    assert list(rows) == ['eager fp32', 'bf16', 'bf16+compile'], list(rows)
    bad = {k: v['error'] for k, v in rows.items() if 'error' in v}
    assert not bad, bad
    assert all(v['images_per_s'] > 0 for v in rows.values())
    assert rows['bf16+compile']['compile'] is True and rows['bf16']['amp'] is True
    assert 'bf16+compile' in res.stdout and 'img/s' in res.stdout

def test_gpu_train_script_dry(tmp_path):
    "`bench/gpu_train.py`: pack a class-balanced slice of a class-folder tree, then train and score it (CPU, smoke)."
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for split in ('train', 'valid', 'test'):
        for label in (0, 1):
            d = tmp_path/'tree'/split/str(label); d.mkdir(parents=True)
            for i in range(12):
                a = rng.integers(0, 160, (96, 96, 3)) + 80*label
                Image.fromarray(a.astype(np.uint8)).save(d/f'p{i:03d}.png')
    script = [sys.executable, str(ROOT/'bench'/'gpu_train.py')]
    res = subprocess.run(script + ['pack', '--src', str(tmp_path/'tree'), '--out', str(tmp_path/'slice'),
                                   '--n-train', '16', '--n-valid', '16', '--n-test', '16'],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(len(list((tmp_path/'slice'/s/l).iterdir())) for s in ('train', 'valid', 'test') for l in '01') == [8]*6
    res = subprocess.run(script + ['run', '--dry', '--data', str(tmp_path/'slice'), '--out', str(tmp_path/'out')],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    s = json.loads((tmp_path/'out'/'summary.json').read_text())
    assert s['card'] == 'cpu' and s['steps'] >= 1 and s['fid_n'] == 8 and s['fid_floor'] > 0 and 0 <= s['valid_auc'] <= 1
    assert sorted(p.name for p in (tmp_path/'out').iterdir()) == ['evals.csv', 'log.csv', 'samples.png', 'summary.json']

def test_compare_checkouts_times_both_trees(tmp_path):
    "`histogan bench --compare REF`: REF's own code is timed (in a worktree), beside this checkout's, in turn."
    git = lambda *a: subprocess.run(['git', '-C', str(ROOT), *a], capture_output=True, text=True, check=True).stdout.strip()
    head, trees = git('rev-parse', 'HEAD'), git('worktree', 'list')
    out = tmp_path/'c.json'
    res = subprocess.run([sys.executable, '-m', 'histogan_nb.cli', 'bench', '--preset', 'smoke', '--steps', '1',
                          '--rounds', '1', '--compare', 'HEAD', '--json', str(out)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    r = json.loads(out.read_text())
    assert r['ref_commit'] == head and r['rounds'] == 1 and 'speedup' in res.stdout
    here, there = r['packages']
    assert Path(here).resolve() == (ROOT/'histogan_nb'/'__init__.py').resolve(), here
    assert Path(there).parts[-3:] == ('ref', 'histogan_nb', '__init__.py'), there   # the worktree's package
    assert r['here_steps_per_cpu_min'] > 0 and r['ref_steps_per_cpu_min'] > 0 and r['speedup_min'] <= r['speedup'] <= r['speedup_max']
    assert git('worktree', 'list') == trees                                          # the worktree is gone

def test_compare_checkouts_bad_ref():
    res = subprocess.run([sys.executable, '-m', 'histogan_nb.cli', 'bench', '--preset', 'smoke', '--compare', 'no-such-ref'],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode != 0 and "not a commit" in res.stdout + res.stderr, res.stdout + res.stderr
