"The reproduction runner end to end at the smoke preset: papermill over nbs/repro/*.ipynb, outputs that parse."
import csv, json, os, signal, subprocess, sys, time
import numpy as np
from pathlib import Path
import pytest
from PIL import Image
from histogan_nb.repro import run_repro, ReproError, NOTEBOOKS, COLUMNS, PAPER_TABLE1

def _rows(path):
    with open(path, newline='') as f: return list(csv.DictReader(f))

@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    "A whole smoke reproduction, 2 seeds on 2 worker processes: its folder and what the runner returned."
    out = tmp_path_factory.mktemp('uninterrupted')/'repro'
    return out, run_repro('smoke', out=out, seeds=2, jobs=2)     # the long runs on 2 worker processes, then the notebooks

def test_runner_writes_every_output(uninterrupted):
    out, info = uninterrupted
    assert info['status'] == 'ok'
    assert info['prefetch']['jobs'] == 2 and set(info['prefetch']['done_s']) >= {'full_seed1', 'log__seed0', 'densenet169_syn_seed1'}
    run = json.loads((out/'run.json').read_text())
    for k in ('preset', 'data', 'seeds', 'commit', 'machine', 'stages', 'overrides', 'wall_s'): assert k in run, k
    assert run['preset'] == 'smoke' and run['seeds'] == 2 and set(run['stages']) == set(NOTEBOOKS)
    assert all(s['status'] == 'ok' and s['wall_s'] > 0 for s in run['stages'].values())
    for k in ('platform', 'cpu_count', 'torch', 'device'): assert k in run['machine'], k
    t1, t2 = _rows(out/'table1.csv'), _rows(out/'table2.csv')
    assert [r['Method'] for r in t1] == list(PAPER_TABLE1)
    assert [r['Variant'] for r in t2] == ['baseline', 'no_sa', 'no_cp', 'full', 'D alone (no GAN)']
    for rows in (t1, t2):   # the smoke preset's toy numbers stand alone: no paper columns beside them
        for c in COLUMNS: assert c in rows[0] and f'{c} (paper)' not in rows[0], c
    for name in ('table1.md', 'table2.md', 'costs.md'):
        assert 'smoke preset: generated toy data, numbers mean nothing' in (out/name).read_text().lower(), name
    for nb in ('fig2', 'fig3'):   # the figures' titles say it too
        src = json.loads((out/f'{nb}.ipynb').read_text())
        assert any('R.caveat' in ''.join(c['source']) for c in src['cells']), nb
    ours = next(r for r in t1 if r['Method'] == 'Ours')
    m, s = ours['AUC'].split(' ± ')                       # 2 seeds: mean ± std of real numbers
    assert 0 <= float(m) <= 1 and float(s) >= 0
    assert ours['AUC'] == next(r for r in t2 if r['Variant'] == 'full')['AUC']   # one run serves both tables
    for name in ('table1.md', 'table2.md', 'costs.md'): assert (out/name).read_text().startswith('| ')
    for nb in NOTEBOOKS:   # executed in `out` with relative parameters: no machine path in what gets committed
        assert str(out) not in (out/f'{nb}.ipynb').read_text(), nb
    for png in ('fig2.png', 'fig3.png', 'eq5_approximation.png'):
        with Image.open(out/png) as im: im.verify()
    for nb in NOTEBOOKS: assert json.loads((out/f'{nb}.ipynb').read_text())['cells']
    assert sorted(p.name for p in (out/'runs').iterdir()) == sorted(
        [f'{v}_seed{k}' for v in ('full', 'no_cp', 'no_sa', 'baseline', 'd_alone') for k in (0, 1)] + ['log__seed0'])

def test_failed_notebook_stops_the_run(tmp_path, monkeypatch):
    empty = tmp_path/'not_a_dataset'; empty.mkdir()
    out = tmp_path/'repro'
    monkeypatch.chdir(tmp_path)   # a relative data path: run.json keeps it as given, not the machine's path
    with pytest.raises(ReproError, match='notebook table1 failed'): run_repro('smoke', data='not_a_dataset', out=out)
    run = json.loads((out/'run.json').read_text())
    assert run['status'] == 'failed' and run['failed']['notebook'] == 'table1' and run['failed']['error']
    assert run['data'] == 'not_a_dataset' and str(tmp_path) not in (out/'run.json').read_text()
    assert (out/'table1.ipynb').exists() and 'table2' not in run['stages']

def test_runner_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match='unknown preset'): run_repro('huge', out=tmp_path)
    with pytest.raises(FileNotFoundError, match='does not exist'): run_repro('smoke', data=str(tmp_path/'none'), out=tmp_path)

def test_killed_reproduction_resumes(uninterrupted, tmp_path):
    "SIGKILL to the whole reproduction (runner, workers, kernel) at a random moment, then the same command again: it reuses the runs that finished, redoes the rest, and writes the tables of an uninterrupted run."
    out = tmp_path/'repro'
    cmd = [sys.executable, '-m', 'histogan_nb.cli', 'repro', '--preset', 'smoke', '--seeds', '2', '--jobs', '2', '--out', str(out)]
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    lines, t0 = np.random.default_rng().integers(2, 12), time.time()   # killed after 2 to 11 lines of progress
    while proc.poll() is None and time.time() - t0 < 300:
        if (out/'progress.log').exists() and len((out/'progress.log').read_text().splitlines()) >= lines: break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL); proc.wait()
    assert proc.returncode == -signal.SIGKILL, 'the reproduction ended before it could be killed'
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    console = r.stdout + r.stderr
    assert 'without encryption' not in console, console[-2000:]      # kernels over IPC: no TCP warning
    import re   # one clock: the runner's and the notebooks' progress lines count from the same start
    times = [float(t) for t in re.findall(r'^\[\s*([0-9.]+) s\]', r.stderr, re.M)]
    assert len(times) > 3 and all(t >= max(times[:i+1]) - 1 for i, t in enumerate(times)), r.stderr[-2000:]
    for name in ('table1.csv', 'table2.csv'):
        assert _rows(out/name) == _rows(uninterrupted[0]/name), name

def test_bad_notebook_parameters(tmp_path):
    "A bad papermill parameter fails at its first use with the kit's sentence; the runner refuses bad seeds up front."
    import papermill as pm
    nb = Path(__file__).resolve().parents[1]/'nbs'/'repro'/'table2.ipynb'
    for params, says in ((dict(preset_name='nope'), "unknown preset 'nope': choose one of"),
                         (dict(seeds='two'), "parameter seeds='two': must be a whole number"),
                         (dict(data=str(tmp_path/'none')), 'does not exist')):
        with pytest.raises(pm.PapermillExecutionError) as e:
            pm.execute_notebook(str(nb), str(tmp_path/'out.ipynb'), parameters=params, progress_bar=False, cwd=str(nb.parent))
        assert says in str(e.value), (params, str(e.value)[-500:])
    r = subprocess.run([sys.executable, '-m', 'histogan_nb.cli', 'repro', '--preset', 'smoke', '--seeds', '0', '--out', str(tmp_path/'r')],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip() == 'histogan repro: error: --seeds must be at least 1, got 0', r.stderr
