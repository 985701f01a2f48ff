"""atomic_output: the target appears whole or not at all, with the usual file mode."""
import os
import stat

import pytest

from tests.shared import ROOT
from workbench.outputs import atomic_output


def test_success_renames_into_place_with_umask_mode(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_bytes(b"abc")
        assert not target.exists()
    assert target.read_bytes() == b"abc"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("writer failed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


KILLED_WRITER = """
import sys, time
from workbench.outputs import atomic_output
with atomic_output(sys.argv[1]) as tmp:
    with open(tmp, "wb") as fh:
        fh.write(b"half of the new content")
        fh.flush()
        print(tmp, flush=True)
        time.sleep(60)
"""


def test_temporary_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    target = tmp_path / "out.bin"
    target.write_bytes(b"old complete content")
    root = ROOT
    env = dict(os.environ, PYTHONPATH=str(root))
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)],
                              stdout=subprocess.PIPE, text=True, env=env)
    tmp = Path(writer.stdout.readline().strip())
    assert tmp.name.startswith(".out.bin.") and tmp.name.endswith(".tmp")
    # while the writer lives its temporary is locked: another write leaves it alone
    with atomic_output(target) as other:
        other.write_bytes(b"new complete content")
    assert tmp.exists() and target.read_bytes() == b"new complete content"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    assert tmp.exists() and target.read_bytes() == b"new complete content"
    with atomic_output(target) as new:
        new.write_bytes(b"newer content")
    assert not tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    assert target.read_bytes() == b"newer content"


def test_temporaries_of_other_targets_are_kept(tmp_path):
    other = tmp_path / ".out.bin.old.abc123.tmp"     # belongs to target "out.bin.old"
    other.write_bytes(b"x")
    with atomic_output(tmp_path / "out.bin") as tmp:
        tmp.write_bytes(b"y")
    assert other.exists()
