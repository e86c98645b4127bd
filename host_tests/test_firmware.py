"""tools/emu/firmware.py: the emulated board's firmware images are found in
FIRMWARE_DIR and checked against tools/emu/firmware.sha256, and every failure is
one line that says what to do."""
import hashlib
import os
import subprocess
import sys

import pytest

import firmware

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = (firmware.MICROPYTHON_PICO, firmware.MICROPYTHON_W5500_EVB_PICO,
         firmware.CIRCUITPYTHON_FEATHER, firmware.BOOTROM)


def _fake_images(folder, monkeypatch):
    """Four small files in ``folder`` and a sums file that expects exactly them."""
    lines = []
    for i, name in enumerate(NAMES):
        data = b"image %d" % i
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
        lines.append("%s  %s\n" % (hashlib.sha256(data).hexdigest(), name))
    sums = os.path.join(folder, "sums")
    with open(sums, "w") as f:
        f.writelines(lines)
    monkeypatch.setattr(firmware, "SUMS_FILE", sums)


def test_sums_file_names_the_four_images():
    sums = firmware.expected_sums()
    assert sorted(sums) == sorted(NAMES)
    assert all(len(v) == 64 for v in sums.values())


def test_missing_image_is_one_line_saying_where_to_get_it(tmp_path):
    with pytest.raises(firmware.FirmwareError) as e:
        firmware.find(firmware.MICROPYTHON_PICO, str(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg
    assert firmware.MICROPYTHON_PICO in msg and str(tmp_path) in msg
    assert "micropython.org" in msg and "README" in msg and "FIRMWARE_DIR" in msg


def test_wrong_checksum_names_the_file_and_both_sums(tmp_path):
    path = tmp_path / firmware.BOOTROM
    path.write_bytes(b"\x00" * 16384)
    with pytest.raises(firmware.FirmwareError) as e:
        firmware.find(firmware.BOOTROM, str(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg
    assert str(path) in msg
    assert hashlib.sha256(b"\x00" * 16384).hexdigest() in msg
    assert firmware.expected_sums()[firmware.BOOTROM] in msg


def test_unknown_image_name_is_refused(tmp_path):
    with pytest.raises(firmware.FirmwareError, match="unknown firmware image"):
        firmware.find("micropython-latest.uf2", str(tmp_path))


def test_good_images_are_found_and_skip_reason_is_none(tmp_path, monkeypatch):
    _fake_images(str(tmp_path), monkeypatch)
    assert firmware.find(firmware.BOOTROM, str(tmp_path)) == str(tmp_path / firmware.BOOTROM)
    assert firmware.skip_reason(directory=str(tmp_path)) is None


def test_skip_reason_names_a_missing_image(tmp_path, monkeypatch):
    _fake_images(str(tmp_path), monkeypatch)
    (tmp_path / firmware.CIRCUITPYTHON_FEATHER).unlink()
    reason = firmware.skip_reason(directory=str(tmp_path))
    assert firmware.CIRCUITPYTHON_FEATHER in reason and "not found" in reason
    # only the images a test asks for matter
    assert firmware.skip_reason(firmware.BOOTROM, directory=str(tmp_path)) is None


def test_a_changed_image_fails_instead_of_skipping(tmp_path, monkeypatch):
    _fake_images(str(tmp_path), monkeypatch)
    (tmp_path / firmware.CIRCUITPYTHON_FEATHER).write_bytes(b"changed")
    with pytest.raises(firmware.FirmwareError, match="expected"):
        firmware.skip_reason(directory=str(tmp_path))
    assert firmware.skip_reason(firmware.BOOTROM, directory=str(tmp_path)) is None


def test_a_missing_folder_is_one_line_too(tmp_path):
    reason = firmware.skip_reason(firmware.BOOTROM, directory=str(tmp_path / "nowhere"))
    assert "\n" not in reason and str(tmp_path / "nowhere") in reason and "README" in reason


def test_firmware_dir_env_wins(tmp_path):
    assert firmware.firmware_dir({"FIRMWARE_DIR": str(tmp_path)}) == str(tmp_path)


def test_default_dir_is_shared_firmware_next_to_the_clone(tmp_path):
    clone = tmp_path / "tcpip"
    clone.mkdir()
    (tmp_path / "shared" / "firmware").mkdir(parents=True)
    assert firmware.firmware_dir({}, str(clone)) == str(tmp_path / "shared" / "firmware")


def test_default_dir_of_a_worktree_is_next_to_the_main_checkout(tmp_path):
    main = tmp_path / "main"
    gitdir = main / ".git" / "worktrees" / "wt1"
    gitdir.mkdir(parents=True)
    (gitdir / "commondir").write_text("../..\n")
    wt = tmp_path / "trees" / "wt1"
    wt.mkdir(parents=True)
    (wt / ".git").write_text("gitdir: %s\n" % gitdir)
    (tmp_path / "shared" / "firmware").mkdir(parents=True)
    assert firmware.firmware_dir({}, str(wt)) == str(tmp_path / "shared" / "firmware")


def test_cli_exits_nonzero_naming_each_missing_image(tmp_path):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "emu", "firmware.py"), "--dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert p.stdout.count("FAILED") == 4


def test_the_real_images_match_when_present():
    reason = firmware.skip_reason()
    if reason is not None:
        pytest.skip(reason)


def test_firmware_sums_env_accepts_another_build(tmp_path, monkeypatch):
    data = b"an official download"
    (tmp_path / firmware.BOOTROM).write_bytes(data)
    sums = tmp_path / "my.sha256"
    sums.write_text("%s  %s\n" % (hashlib.sha256(data).hexdigest(), firmware.BOOTROM))
    with pytest.raises(firmware.FirmwareError):
        firmware.find(firmware.BOOTROM, str(tmp_path))
    monkeypatch.setenv("FIRMWARE_SUMS", str(sums))
    assert firmware.find(firmware.BOOTROM, str(tmp_path)) == str(tmp_path / firmware.BOOTROM)
