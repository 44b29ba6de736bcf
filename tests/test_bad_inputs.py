"""Bad input against the real `histogan` command, as a careful user and an attacker would give it.

Each case runs `python -m histogan_nb.cli` in a subprocess and must end in exit status 2, one line on stderr that
names the file or field and the problem, and no traceback. Damaged checkpoints and HDF5 files are made here.
The kill tests stop `sample` and `train` with SIGKILL while they write and check that no output is left half
written, and that the next run removes the temporary files."""
import os, shutil, signal, subprocess, sys, time
from pathlib import Path
import h5py
import numpy as np
import pytest
import torch

from histogan_nb.data import write_pcam_h5, pcam_name, PCamH5
from histogan_nb.run import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1', 'PYTHONPATH': str(ROOT)}
ALL = ['--set', 'data.train_count=None', '--set', 'data.valid_count=None', '--set', 'data.test_count=None']

def histogan(*args, timeout=300):
    return subprocess.run([sys.executable, '-m', 'histogan_nb.cli', *map(str, args)], env=ENV, capture_output=True,
                          text=True, timeout=timeout)

def one_line_error(r, *words):
    "Exit 2, no traceback, one error line on stderr (beside any progress bars) holding every word."
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert 'Traceback' not in r.stderr, r.stderr[-2000:]
    lines = [l for l in r.stderr.splitlines() if ': error: ' in l]
    assert len(lines) == 1 and lines[0].startswith('histogan'), r.stderr[-2000:]
    for w in words: assert str(w) in lines[0], (w, lines[0])
    return lines[0]

def pcam_folder(root, n=(48, 16, 16), size=96, seed=0):
    "PCam-format train/valid/test files of random patches (label-1 brighter)."
    rng = np.random.default_rng(seed)
    for split, m in zip(('train', 'valid', 'test'), n):
        y = np.arange(m) % 2
        x = (rng.integers(0, 160, (m, size, size, 3)) + 80*y[:, None, None, None]).astype(np.uint8)
        write_pcam_h5(root, split, x, y)
    return root

@pytest.fixture(scope='module')
def h5(tmp_path_factory): return pcam_folder(tmp_path_factory.mktemp('h5'))

@pytest.fixture(scope='module')
def run(h5, tmp_path_factory):
    out = tmp_path_factory.mktemp('run')/'run'
    r = histogan('train', '--preset', 'smoke', '--data', h5, '--out', out, '--max-steps', 4, '--quiet', *ALL)
    assert r.returncode == 0, r.stderr[-3000:]
    return out

def copy_h5(h5, dest, split='train', kind='x', make=None):
    "A copy of the folder `h5` whose `split` `kind` file is replaced by `make(path)`."
    shutil.copytree(h5, dest); f = dest/pcam_name(split, kind); f.unlink(); make(f); return dest

def h5_file(build):
    def make(path):
        with h5py.File(path, 'w') as f: build(f)
    return make

def poisoned(ckpt, dest, edit):
    ck = torch.load(ckpt, weights_only=True); edit(ck); torch.save(ck, dest); return dest

def nan_first(ck): next(iter(ck['G'].values())).fill_(float('nan'))

# ---- NaN checkpoints ---------------------------------------------------------------------------------------
def test_diverging_run_writes_no_nan_checkpoint(h5, tmp_path):
    out = tmp_path/'lr30'
    r = histogan('train', '--preset', 'smoke', '--data', h5, '--out', out, '--max-steps', 6, '--quiet', *ALL,
                 '--set', 'train.lr_g=30', '--set', 'train.lr_d=30', '--set', 'train.eval_every=1', '--set', 'runtime.log_every=1')
    one_line_error(r, 'non-finite weights at step', 'no last.pt was written')
    for f in out.glob('*.pt'): load_checkpoint(f)      # whatever was written is finite (load refuses NaN)

@pytest.mark.parametrize('cmd', ['sample', 'classify', 'evaluate'])
def test_nan_checkpoint_refused(run, h5, tmp_path, cmd):
    ck = poisoned(run/'best_cls.pt', tmp_path/'nan.pt', nan_first)
    extra = {'sample': ['--out', tmp_path/'s'], 'classify': ['--images', run, '--out', tmp_path/'c.csv'],
             'evaluate': ['--data', h5]}[cmd]
    one_line_error(histogan(cmd, '--checkpoint', ck, *extra), 'nan.pt', 'non-finite weights')

def test_nan_last_refused_on_resume(run, h5, tmp_path):
    d = tmp_path/'r'; shutil.copytree(run, d); poisoned(d/'last.pt', d/'last.pt', nan_first)
    one_line_error(histogan('train', '--preset', 'smoke', '--data', h5, '--out', d, '--resume', '--max-steps', 6, '--quiet', *ALL),
                   'last.pt', 'non-finite weights')

# ---- damaged data ------------------------------------------------------------------------------------------
DAMAGED = {
    'zero-byte':   (lambda p: p.write_bytes(b''), 'not a readable HDF5'),
    'truncated':   (None, 'not a readable HDF5'),                        # half of the good file, made in the test
    'x a group':   (h5_file(lambda f: f.create_group('x')), 'is an HDF5 group'),
    'half-written': (h5_file(lambda f: f.create_dataset('x', (480, 96, 96, 3), np.uint8, chunks=(16, 96, 96, 3))
                                   .__setitem__(slice(0, 32), np.full((32, 96, 96, 3), 99, np.uint8))), 'stores only 2 of 30 chunks'),
    'black':       (h5_file(lambda f: f.create_dataset('x', data=np.zeros((48, 96, 96, 3), np.uint8))), 'entirely black'),
}

@pytest.mark.parametrize('case', list(DAMAGED))
def test_damaged_hdf5_train(h5, tmp_path, case):
    make, words = DAMAGED[case]
    if make is None:
        good = (h5/pcam_name('train', 'x')).read_bytes(); make = lambda p: p.write_bytes(good[:len(good)//2])
    d = copy_h5(h5, tmp_path/'d', make=make)
    one_line_error(histogan('train', '--preset', 'smoke', '--data', d, '--out', tmp_path/'o', '--quiet', *ALL),
                   pcam_name('train', 'x'), words)

def test_damaged_hdf5_report(h5, tmp_path):
    d = copy_h5(h5, tmp_path/'d', split='valid', make=lambda p: p.write_bytes(b''))
    one_line_error(histogan('report', d), pcam_name('valid', 'x'), 'not a readable HDF5')

def test_huge_declared_labels(h5, tmp_path):
    d = copy_h5(h5, tmp_path/'d', kind='y', make=h5_file(lambda f: f.create_dataset('y', (50_000_000, 1, 1, 1), np.uint8)))
    assert (d/pcam_name('train', 'y')).stat().st_size < 10_000
    one_line_error(histogan('train', '--preset', 'smoke', '--data', d, '--out', tmp_path/'o', '--quiet', *ALL),
                   pcam_name('train', 'y'), 'declares 50,000,000 rows')

def test_corrupt_chunk(tmp_path):
    d = pcam_folder(tmp_path/'d'); f = d/pcam_name('train', 'x')
    with h5py.File(f, 'r') as h: x = h['x'][...]
    with h5py.File(f, 'w') as h:
        h.create_dataset('x', data=x, chunks=(1, 96, 96, 3), compression='gzip'); off = h['x'].id.get_chunk_info(5).byte_offset
    with open(f, 'r+b') as fh: fh.seek(off + 8); fh.write(b'\xff'*64)    # flipped bytes inside chunk 5
    one_line_error(histogan('train', '--preset', 'smoke', '--data', d, '--out', tmp_path/'o', '--quiet', *ALL),
                   pcam_name('train', 'x'), 'could not read')

def test_mixed_pair(h5, tmp_path):
    other = pcam_folder(tmp_path/'other', seed=1)
    d = copy_h5(h5, tmp_path/'d', kind='y', make=lambda p: shutil.copy(other/pcam_name('train', 'y'), p))
    one_line_error(histogan('train', '--preset', 'smoke', '--data', d, '--out', tmp_path/'o', '--quiet', *ALL), 'different writes')

def test_three_class_folders_on_two_class_model(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    for split, classes in (('train', 3), ('valid', 2), ('test', 2)):
        for c in range(classes):
            (tmp_path/'t'/split/str(c)).mkdir(parents=True)
            for i in range(8): Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(tmp_path/'t'/split/str(c)/f'{i}.png')
    one_line_error(histogan('train', '--preset', 'smoke', '--data', tmp_path/'t', '--out', tmp_path/'o', '--quiet', *ALL),
                   'labels [0, 1, 2]', 'model.num_classes=2')

def test_num_classes_three_on_two_class_data(h5, tmp_path):
    one_line_error(histogan('train', '--preset', 'smoke', '--data', h5, '--out', tmp_path/'o', '--quiet', *ALL, '--set', 'model.num_classes=3'),
                   'model.num_classes=3', 'labels [0, 1] only')

# ---- config values -----------------------------------------------------------------------------------------
CONFIG = [('train.n_critic=0', 'integer >= 1'), ('train.gp_every=0', 'integer >= 1'), ('train.betas=0.5', 'pair'),
          ('train.batch_size=0', 'integer >= 1'), ('train.batch_size=-4', 'integer >= 1'), ('train.lr_g=-1', '> 0'),
          ('train.batch_size=abc', 'expected a number'), ('train.use_sa=maybe', 'expected a boolean'),
          ('train.lr_g=fast', 'expected a number'), ('train.tau=-1', '> 0')]

@pytest.mark.parametrize('setting,words', CONFIG)
def test_config_value(h5, tmp_path, setting, words):
    one_line_error(histogan('train', '--preset', 'smoke', '--data', h5, '--out', tmp_path/'o', '--set', setting),
                   setting.split('=')[0], words)

def test_negative_max_steps(h5, tmp_path):
    one_line_error(histogan('train', '--preset', 'smoke', '--data', h5, '--out', tmp_path/'o', '--max-steps', -5), 'train.max_steps', '>= 0')

def test_negative_tau(run, tmp_path):
    one_line_error(histogan('sample', '--checkpoint', run/'best_cls.pt', '--tau', -1, '--out', tmp_path/'s'), '--tau')

# ---- output paths ------------------------------------------------------------------------------------------
def test_out_paths(run, h5, tmp_path):
    f = tmp_path/'a_file'; f.write_text('x')
    ck = run/'best_cls.pt'
    one_line_error(histogan('train', '--preset', 'smoke', '--data', h5, '--out', f), 'a_file', 'existing file')
    one_line_error(histogan('train', '--preset', 'smoke', '--data', h5, '--out', '/proc/histogan-out'), '/proc/histogan-out', 'cannot create')
    one_line_error(histogan('sample', '--checkpoint', ck, '--out', f), 'a_file', 'existing file')
    one_line_error(histogan('sample', '--checkpoint', ck, '--out', f/'sub'), 'a_file', 'existing file')
    one_line_error(histogan('classify', '--checkpoint', ck, '--images', run, '--out', tmp_path), 'is a folder')
    one_line_error(histogan('evaluate', '--checkpoint', ck, '--data', h5, '--out', tmp_path/'no'/'e.json'), 'does not exist')
    one_line_error(histogan('report', h5, '--out', f), 'a_file', 'existing file')

# ---- checkpoints that are not what they claim -----------------------------------------------------------------
def test_foreign_checkpoints(run, tmp_path):
    torch.save({'state': 1}, tmp_path/'foreign.pt'); torch.save(torch.ones(3), tmp_path/'tensor.pt')
    poisoned(run/'best_cls.pt', tmp_path/'newer.pt', lambda ck: ck['preset']['train'].update(warp_drive=1))
    poisoned(run/'best_cls.pt', tmp_path/'wide.pt', lambda ck: ck['preset']['model'].update(g_dim=2*ck['preset']['model']['g_dim']))
    (tmp_path/'junk.pt').write_bytes(os.urandom(300))
    for name, words in (('foreign.pt', 'not a histogan_nb checkpoint'), ('tensor.pt', 'a Tensor'),
                        ('newer.pt', 'another version of histogan_nb'), ('wide.pt', 'do not fit the model config'),
                        ('junk.pt', 'could not be read')):
        one_line_error(histogan('sample', '--checkpoint', tmp_path/name, '--out', tmp_path/'s'), name, words)

# ---- resume ------------------------------------------------------------------------------------------------
def test_resume_cases(run, h5, tmp_path):
    d = tmp_path/'r'; shutil.copytree(run, d)
    train = lambda *a: histogan('train', '--preset', 'smoke', '--data', h5, '--out', d, '--quiet', *ALL, *a)
    one_line_error(train('--max-steps', 6), 'already holds a run', '--resume')
    one_line_error(train('--resume', '--max-steps', 6, '--set', 'train.lr_g=3e-4'), 'train.lr_g 0.0001 -> 0.0003')
    one_line_error(train('--resume', '--max-steps', 6, '--set', 'data.train_count=32'), 'data train_count')
    one_line_error(histogan('train', '--preset', 'smoke', '--data', h5, '--out', tmp_path/'typo', '--resume', '--quiet'), 'nothing to resume')
    shutil.copy(d/'best_cls.pt', d/'last.pt')
    one_line_error(train('--resume', '--max-steps', 6), 'weights only')

def test_report_reads_the_kits_own_samples(run, tmp_path):
    r = histogan('sample', '--checkpoint', run/'best_cls.pt', '--n', 4, '--out', tmp_path/'s')
    assert r.returncode == 0, r.stderr[-2000:]
    r = histogan('report', tmp_path/'s')
    assert r.returncode == 0 and '32' not in r.stderr, r.stderr[-2000:]

def test_debug_shows_the_traceback(tmp_path):
    r = histogan('--debug', 'sample', '--checkpoint', tmp_path/'none.pt', '--out', tmp_path/'s')
    assert r.returncode == 2 and 'Traceback' in r.stderr and r.stderr.strip().splitlines()[-1].startswith('histogan sample: error')

# ---- kills while writing -----------------------------------------------------------------------------------
def wait_for(pattern, folder, proc, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout and proc.poll() is None:
        if list(Path(folder).glob(pattern)): return True
        time.sleep(0.002)
    return False

def test_kill_sample_mid_write(run, tmp_path):
    out = tmp_path/'s'
    r = histogan('sample', '--checkpoint', run/'best_cls.pt', '--n', 8, '--out', out); assert r.returncode == 0, r.stderr
    old = PCamH5(out, 'train').labels.copy()
    proc = subprocess.Popen([sys.executable, '-m', 'histogan_nb.cli', 'sample', '--checkpoint', str(run/'best_cls.pt'),
                             '--n', '6000', '--out', str(out)], env=ENV, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    seen = wait_for('.*.tmp.h5', out, proc); proc.kill(); proc.wait()
    assert seen, 'sample finished before a temporary file was seen'
    np.testing.assert_array_equal(PCamH5(out, 'train').labels, old)     # the old pair, whole and matching
    assert list(out.glob('.*.tmp*'))                                     # the killed writer's temporary is left ...
    r = histogan('sample', '--checkpoint', run/'best_cls.pt', '--n', 3, '--out', out); assert r.returncode == 0, r.stderr
    assert not list(out.glob('.*.tmp*')) and len(PCamH5(out, 'train')) == 6   # ... and the next run removes it

def test_kill_while_checkpointing(h5, tmp_path):
    out = tmp_path/'k'
    proc = subprocess.Popen([sys.executable, '-m', 'histogan_nb.cli', 'train', '--preset', 'smoke', '--data', str(h5), '--out', str(out),
                             '--max-steps', '100000', '--quiet', *ALL, '--set', 'runtime.ckpt_every=1', '--set', 'train.eval_every=100000'],
                            env=ENV, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        assert wait_for('last.pt', out, proc), 'no checkpoint appeared'
        seen = wait_for('.last.*.tmp.pt', out, proc)
    finally: proc.kill(); proc.wait()
    assert seen
    step = load_checkpoint(out/'last.pt', resumable=True)['step']      # whole: the old or the new state, never half
    r = histogan('train', '--preset', 'smoke', '--data', h5, '--out', out, '--resume', '--max-steps', step + 1, '--quiet', *ALL,
                 '--set', 'runtime.ckpt_every=1', '--set', 'train.eval_every=100000')
    assert r.returncode == 0, r.stderr[-2000:]
    assert not list(out.glob('.*.tmp*')) and load_checkpoint(out/'last.pt')['step'] == step + 1
