"A full disk while the kit writes: one error line naming the file, the folder and the bytes; old files whole; no temporaries."
import os, subprocess, sys, uuid
from pathlib import Path
import pytest

from histogan_nb.files import write_atomic, append_text, DiskFullError

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture
def small_disk(tmp_path):
    "A 1 MiB tmpfs (needs the right to mount: root on Linux); skipped, saying why, where mounting is not allowed."
    mnt = tmp_path/f'disk-{uuid.uuid4().hex[:6]}'; mnt.mkdir()
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', str(mnt)], capture_output=True, text=True)
    if r.returncode: pytest.skip(f"cannot mount a small tmpfs here ({(r.stderr or r.stdout).strip()[:120]})")
    yield mnt
    subprocess.run(['umount', '-l', str(mnt)], capture_output=True)

def leftovers(folder): return [p.name for p in Path(folder).iterdir() if '.tmp' in p.name]

def test_atomic_write_on_a_full_disk_keeps_the_old_file(small_disk):
    old = os.urandom(300_000); write_atomic(small_disk/'a.bin', old)
    with pytest.raises(DiskFullError) as e: write_atomic(small_disk/'a.bin', os.urandom(900_000))
    msg = str(e.value)
    assert msg.startswith(f'the disk is full: writing a.bin in {small_disk} needed at least ') and 'free there' in msg, msg
    assert (small_disk/'a.bin').read_bytes() == old and leftovers(small_disk) == []

def test_appended_rows_are_whole_or_absent(small_disk):
    log = small_disk/'log.csv'; append_text(log, 'step,loss\n1,0.5\n')
    with open(small_disk/'filler', 'wb') as f:        # fill the disk up to a few kB
        try: f.write(b'x' * (2**20 - 8192))
        except OSError: pass
    with pytest.raises(DiskFullError, match='writing log.csv'): append_text(log, '2,0.25\n' * 10_000)
    assert log.read_text() == 'step,loss\n1,0.5\n'

def test_train_on_a_full_disk_is_one_line(small_disk, tmp_path):
    import numpy as np
    from histogan_nb.data import write_pcam_h5
    rng = np.random.default_rng(0)
    for split in ('train', 'valid', 'test'):
        y = np.arange(32) % 2
        write_pcam_h5(tmp_path/'data', split, (rng.integers(0, 160, (32, 32, 32, 3)) + 80*y[:, None, None, None]).astype(np.uint8), y)
    r = subprocess.run([sys.executable, '-m', 'histogan_nb.cli', 'train', '--preset', 'smoke', '--data', str(tmp_path/'data'),
                        '--out', str(small_disk/'run'), '--quiet', '--set', 'data.train_count=None', '--set',
                        'data.valid_count=None', '--set', 'data.test_count=None'],
                       capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr[-2000:]
    assert lines[0].startswith('histogan train: error: the disk is full: writing ') and f"in {small_disk/'run'} needed" in lines[0], lines[0]
    assert leftovers(small_disk/'run') == []
