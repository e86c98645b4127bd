"""tools/emu/fsimage.py: the emulated board's filesystem images hold exactly what
``make flash`` copies, and read back with littlefs-python / mtools and with
MicroPython's own vfs (the littlefs and FatFs code of the firmware)."""
import hashlib
import os
import shutil
import subprocess
import time

import pytest

import fsimage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
MOUNT_APP = os.path.join(ROOT, "host_tests", "apps", "fsmount_app.py")
MP_BOARD = "w5500_evb_pico"
CP_BOARD = "feather_rp2040_ethernet_featherwing"


def _board_files(board):
    p = subprocess.run(["make", "-s", "--no-print-directory", "-f", "tools/deploy/board.mk", "board-files",
                        "BOARD=" + board], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return p.stdout.split()


# make flash's stubs for what it leaves off (tools/deploy/board.mk's EXTRAS)
STUBS = {"lib/tcpip/tracer.mpy", "lib/tcpip/aio.mpy"}


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _mounted_by_micropython(kind, image):
    """{path: (size, sha256)} as MicroPython's vfs reads the image."""
    if not os.path.exists(MICROPYTHON):
        pytest.skip("micropython not installed (run make setup)")
    p = subprocess.run([MICROPYTHON, "-X", "heapsize=8M", MOUNT_APP, kind, image],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.endswith("ok\n"), p.stdout + p.stderr
    out = {}
    for line in p.stdout.splitlines()[:-1]:
        path, size, digest = line.split()
        out[path] = (int(size), digest)
    return out


def _digests(files):
    return {k: (len(v), hashlib.sha256(v).hexdigest()) for k, v in files.items()}


@pytest.fixture(scope="module")
def mp_image(tmp_path_factory):
    d = tmp_path_factory.mktemp("lfs")
    t0 = time.monotonic()
    path = fsimage.build_micropython_image(MP_BOARD, str(d / "fs.img"),
                                           extra={"probe.py": b"print('probe')\n"})
    return path, time.monotonic() - t0


@pytest.fixture(scope="module")
def cp_image(tmp_path_factory):
    for tool in ("mkfs.vfat", "mcopy", "mdir"):
        if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
            pytest.skip("%s not installed (make setup: dosfstools, mtools)" % tool)
    d = tmp_path_factory.mktemp("fat")
    t0 = time.monotonic()
    path = fsimage.build_circuitpython_image(CP_BOARD, str(d / "circuitpy.img"),
                                             extra={"code.py": b"print('my code')\n"})
    return path, time.monotonic() - t0


def test_micropython_image_is_the_rpi_pico_littlefs_layout(mp_image):
    path, seconds = mp_image
    assert os.path.getsize(path) == 352 * 4096  # 0xA0000 .. end of the 2 MB flash
    assert fsimage.MICROPYTHON_FS_OFFSET + os.path.getsize(path) == 2 * 1024 * 1024
    assert _read(path)[8:16] == b"littlefs"  # the superblock's magic
    assert seconds < 20


def test_micropython_image_holds_what_make_flash_copies(mp_image, tmp_path):
    files = fsimage.read_littlefs_image(mp_image[0])
    want = {"lib/" + f[len("lib/"):-3] + ".mpy" for f in _board_files(MP_BOARD)} | STUBS
    want |= {"netboot.mpy", "tcpip_board.py", "tcpip_config.json", "main.py", "probe.py",
             "lib/tcpip/wire/echo_native.mpy", "lib/tcpip/wire/native_mc.mpy",
             "lib/tcpip/wire/native_emit_mc.mpy", "lib/tcpip/wire/native_ack_mc.mpy"}
    assert set(files) == want
    # the .mpy bytes are make board-mpy's (mpy-cross -march=armv6m), built separately here
    ref = tmp_path / "ref"
    subprocess.run(["make", "-s", "--no-print-directory", "-f", "tools/deploy/board.mk", "board-mpy",
                    "BOARD=" + MP_BOARD, "BOARD_MPY_DIR=%s" % ref], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    for name in want:
        if name.endswith(".mpy"):
            rel = name[len("lib/"):] if name.startswith("lib/") else name
            assert files[name] == _read(str(ref / rel)), name
    assert files["lib/tcpip/stack.mpy"][:2] == b"M\x06"  # .mpy version 6
    assert files["tcpip_board.py"] == _read(os.path.join(ROOT, "boards", MP_BOARD + ".py"))
    assert files["main.py"] == _read(os.path.join(ROOT, "firmware", "main.py"))
    assert files["tcpip_config.json"] == _read(os.path.join(ROOT, "firmware", "tcpip_config.json"))
    assert files["probe.py"] == b"print('probe')\n"


def test_micropython_vfslfs2_mounts_the_image(mp_image):
    files = fsimage.read_littlefs_image(mp_image[0])
    assert _mounted_by_micropython("lfs", mp_image[0]) == _digests(files)


def test_circuitpython_image_is_a_1mb_fat12_circuitpy(cp_image):
    path, seconds = cp_image
    boot = _read(path)[:512]
    assert os.path.getsize(path) == 1 << 20
    assert boot[11:13] == (512).to_bytes(2, "little")  # bytes per sector
    assert boot[43:54] == b"CIRCUITPY  " and boot[54:62] == b"FAT12   "
    assert seconds < 20


def test_circuitpython_image_holds_what_make_flash_copies(cp_image):
    path = cp_image[0]
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    p = subprocess.run(["mdir", "-/", "-b", "-i", path, "::"], capture_output=True, text=True,
                       timeout=60, env=env, check=True)
    listed = {x[len("::/"):] for x in p.stdout.split() if not x.endswith("/")}
    want = set(_board_files(CP_BOARD)) | {"tcpip_board.py", "tcpip_config.json", "netboot.py", "code.py",
                                          "settings.toml"}
    assert listed == want
    for name in want:
        q = subprocess.run(["mtype", "-i", path, "::" + name], capture_output=True, timeout=60,
                           env=env, check=True)
        if name == "code.py":
            assert q.stdout == b"print('my code')\n"  # extra replaced firmware/code.py
        elif name == "tcpip_board.py":
            assert q.stdout == _read(os.path.join(ROOT, "boards", CP_BOARD + ".py"))
        elif name.startswith("lib/"):
            assert q.stdout == _read(os.path.join(ROOT, name)), name
        else:
            assert q.stdout == _read(os.path.join(ROOT, "firmware", name)), name


def test_micropython_vfsfat_mounts_the_circuitpy_image(cp_image):
    got = _mounted_by_micropython("fat", cp_image[0])
    assert "lib/tcpip/tcp.py" in got and "code.py" in got
    assert got["lib/tcpip/tcp.py"] == _digests({"x": _read(os.path.join(ROOT, "lib/tcpip/tcp.py"))})["x"]


def test_wrong_runtime_or_unknown_board_is_a_clear_error(tmp_path):
    with pytest.raises(fsimage.ImageError, match="RUNTIME 'circuitpython'"):
        fsimage.build_micropython_image(CP_BOARD, str(tmp_path / "x.img"))
    with pytest.raises(fsimage.ImageError, match="no board 'nope'"):
        fsimage.build_circuitpython_image("nope", str(tmp_path / "x.img"))
    assert not os.path.exists(tmp_path / "x.img")


def test_circuitpython_mpy_image_holds_the_board_set_marked_for_circuitpython(tmp_path):
    if shutil.which("mkfs.vfat", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
        pytest.skip("mkfs.vfat not installed (make setup: dosfstools)")
    path = fsimage.build_circuitpython_image(CP_BOARD, str(tmp_path / "cp.img"), mpy=True)
    got = _mounted_by_micropython("fat", path)
    want = {"lib/" + f[len("lib/"):-3] + ".mpy" for f in _board_files(CP_BOARD)} | STUBS
    want |= {"netboot.mpy", "tcpip_board.py", "tcpip_config.json", "code.py", "settings.toml"}
    assert set(got) == want
    ref = tmp_path / "ref"
    subprocess.run(["make", "-s", "--no-print-directory", "-f", "tools/deploy/board.mk", "board-mpy",
                    "BOARD=" + CP_BOARD, "BOARD_MPY_DIR=%s" % ref], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    for name in ("lib/tcpip/tcp.mpy", "lib/tcpip/nic/w5500.mpy", "netboot.mpy"):
        q = subprocess.run(["mtype", "-i", path, "::" + name], capture_output=True, timeout=60,
                           env=env, check=True)
        mpy = _read(str(ref / (name[len("lib/"):] if name.startswith("lib/") else name)))
        assert mpy[:1] == b"M" and q.stdout == b"C" + mpy[1:], name  # only the mark differs


def test_only_mpy_cross_files_are_marked_for_circuitpython():
    assert fsimage.circuitpython_mpy(b"M\x06\x00\x1fxyz") == b"C\x06\x00\x1fxyz"
    with pytest.raises(fsimage.ImageError, match="not an mpy-cross"):
        fsimage.circuitpython_mpy(b"print(1)\n")


def test_make_flash_copies_the_circuitpython_board_set_as_marked_mpy_and_drops_old_sources(tmp_path):
    drive = tmp_path / "CIRCUITPY"
    (drive / "lib" / "tcpip").mkdir(parents=True)
    (drive / "lib" / "tcpip" / "tcp.py").write_text("old\n")  # would shadow tcp.mpy
    (drive / "netboot.py").write_text("old\n")
    (drive / "mine.txt").write_text("kept\n")
    p = subprocess.run(["make", "-s", "--no-print-directory", "flash", "BOARD=" + CP_BOARD,
                        "CIRCUITPY=%s" % drive], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    got = {}
    for d, _, names in os.walk(drive):
        for n in names:
            full = os.path.join(d, n)
            got[os.path.relpath(full, drive).replace(os.sep, "/")] = _read(full)
    want = fsimage.circuitpython_files(CP_BOARD, mpy=True)
    assert got.pop("mine.txt") == b"kept\n"
    assert got == want  # exactly what the emulated board's CIRCUITPY image holds
    mpys = [k for k in got if k.endswith(".mpy")]
    assert "lib/tcpip/tcp.mpy" in mpys and "netboot.mpy" in mpys
    assert all(got[k][:4] == b"C\x06\x00\x1f" for k in mpys)


def test_circuitpython_mpy_cross_files_are_taken_unchanged():
    assert fsimage.circuitpython_mpy(b"C\x06\x00\x1fxyz") == b"C\x06\x00\x1fxyz"


PYSTACK = b"CIRCUITPY_PYSTACK_SIZE = 3072"


def test_circuitpython_files_carry_the_pystack_size_in_settings_toml():
    got = fsimage.circuitpython_files(CP_BOARD)["settings.toml"]
    assert got == _read(os.path.join(ROOT, "firmware", "settings.toml"))
    assert PYSTACK in got.splitlines()


def test_a_users_settings_toml_keeps_its_keys_and_gains_the_pystack_size():
    user = b'# my board\nCIRCUITPY_WIFI_SSID = "lab"\nAPI_KEY="a=b"'
    got = fsimage.circuitpython_files(CP_BOARD, extra={"/settings.toml": user})["settings.toml"]
    assert got.startswith(user + b"\n")  # the user's text as it was
    assert got.splitlines()[-1] == PYSTACK and got.count(b"CIRCUITPY_PYSTACK_SIZE") == 1


def test_a_pystack_size_the_user_set_is_left_as_it_is():
    user = b"CIRCUITPY_PYSTACK_SIZE = 4096\n"
    assert fsimage.merge_settings_toml(user, _read(fsimage.SETTINGS_TOML)) == user
    # a commented-out key is not a key the user set
    got = fsimage.merge_settings_toml(b"# CIRCUITPY_PYSTACK_SIZE = 1024\n", _read(fsimage.SETTINGS_TOML))
    assert got.splitlines()[-1] == PYSTACK


def test_make_flash_merges_settings_toml_on_the_drive(tmp_path):
    drive = tmp_path / "CIRCUITPY"
    drive.mkdir()
    (drive / "settings.toml").write_bytes(b'CIRCUITPY_WEB_API_PASSWORD = "pw"\n')
    n = fsimage.write_dir(fsimage.circuitpython_files(CP_BOARD, mpy=True), str(drive))
    assert n > 0
    got = (drive / "settings.toml").read_bytes()
    assert got.startswith(b'CIRCUITPY_WEB_API_PASSWORD = "pw"\n') and got.splitlines()[-1] == PYSTACK
    fsimage.write_dir(fsimage.circuitpython_files(CP_BOARD, mpy=True), str(drive))  # again: no second copy
    assert (drive / "settings.toml").read_bytes() == got
