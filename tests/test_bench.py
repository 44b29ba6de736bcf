"The speed tools: `bench/gpu_bench.py --dry` runs on CPU, and `run_bench` writes the documented JSON fields."
import json, subprocess, sys
from pathlib import Path
from histogan_nb.bench import run_bench

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ('images_per_s', 'step_ms', 'd_ms', 'gp_ms', 'g_ms', 'peak_mem_mb', 'flops_per_step', 'mfu',
          'f2_patches_per_s', 'resnet34_patches_per_s', 'preset', 'device', 'threads', 'n_critic', 'batch_size')

def test_run_bench_smoke_json(tmp_path):
    r = run_bench('smoke', steps=2, json_out=str(tmp_path/'b.json'), device='cpu', print_table=False,
                  overrides={'train.threads': 1}, infer_batch=8)
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
    res = subprocess.run([sys.executable, str(ROOT/'bench'/'gpu_bench.py'), '--dry', '--json', str(out)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    rows = json.loads(out.read_text())
    assert list(rows) == ['eager fp32', 'bf16', 'bf16+compile'], list(rows)
    bad = {k: v['error'] for k, v in rows.items() if 'error' in v}
    assert not bad, bad
    assert all(v['images_per_s'] > 0 for v in rows.values())
    assert rows['bf16+compile']['compile'] is True and rows['bf16']['amp'] is True
    assert 'bf16+compile' in res.stdout and 'img/s' in res.stdout
