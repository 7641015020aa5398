#!/usr/bin/env python3
"""File-system semantics as a user sees them, as a transcript.

    semantic.py [--pod-root DIR] WORKDIR
    semantic.py --dump DIR

Runs a fixed sequence of operations inside WORKDIR (an empty directory)
and prints one line per operation with its outcome (ok, the value that
matters, or the errno name), then a dump of the tree it left. Nothing in
the transcript depends on the machine (no inode numbers, no absolute
paths, no times other than the ones the run set itself), so a run on a
plain local directory and a run on a mirror mount must print the same
lines; `diff -u` of the two shows which step differs.

The lock steps use a second process acting on the "pod" side: with
--pod-root DIR, that process uses DIR/<the same relative path> (the
target's own copy of WORKDIR, the directory the agent serves); without
it, WORKDIR itself.

--dump DIR prints only the tree dump of DIR (the same lines the end of a
run prints).

Exit status: 0 once the whole sequence ran (whatever the outcomes), 2 on
a usage error.
"""
import ctypes
import errno
import fcntl
import hashlib
import mmap
import os
import random
import select
import signal
import stat
import sys
import threading
import time

W = None        # the work directory (mount side)
POD = None      # the same directory as the pod sees it
MiB = 1024 * 1024

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2

libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                           ctypes.c_char_p, ctypes.c_uint]
libc.renameat2.restype = ctypes.c_int
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                           ctypes.c_int64]
libc.fallocate.restype = ctypes.c_int
libc.utimensat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p,
                           ctypes.c_int]
libc.utimensat.restype = ctypes.c_int
libc.linkat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                        ctypes.c_char_p, ctypes.c_int]
libc.linkat.restype = ctypes.c_int


class Flock(ctypes.Structure):
    """struct flock (x86-64 and other LP64 Linux: 32 bytes)."""
    _fields_ = [("l_type", ctypes.c_short), ("l_whence", ctypes.c_short),
                ("l_start", ctypes.c_int64), ("l_len", ctypes.c_int64),
                ("l_pid", ctypes.c_int)]


LOCK_NAMES = {fcntl.F_RDLCK: "F_RDLCK", fcntl.F_WRLCK: "F_WRLCK",
              fcntl.F_UNLCK: "F_UNLCK"}


class Failed:
    """What step() returns when the operation raised."""

    def __init__(self, text):
        self.text = text

    def __bool__(self):
        return False


# ------------------------------------------------------------ output

_count = 0


def ename(e):
    return errno.errorcode.get(e, "errno%d" % e)


def section(title):
    print("## %s" % title, flush=True)


def out(desc, result, known=False):
    global _count
    if known:
        print("K %s: %s" % (desc, result), flush=True)
        return
    _count += 1
    print("%03d %s: %s" % (_count, desc, result), flush=True)


def short(data):
    """bytes in a transcript: small ones as they are, others by length and hash."""
    if len(data) <= 40:
        return repr(data)
    return "%d bytes sha256:%s" % (len(data), hashlib.sha256(data).hexdigest()[:16])


def fmt(r):
    if r is None or r is True:
        return "ok"
    if isinstance(r, (bytes, bytearray)):
        return short(bytes(r))
    if isinstance(r, (list, tuple)):
        return "[" + ", ".join(fmt(x) if not isinstance(x, str) else x for x in r) + "]"
    return str(r)


def scrub(s):
    for root in (W, POD):
        if root:
            s = s.replace(root, "<W>")
    return s


def step(desc, fn, show=None, known=False):
    """Runs fn, prints its outcome, returns its result (a Failed if it raised)."""
    try:
        r = fn()
    except OSError as e:
        text = ename(e.errno) if e.errno else "OSError " + scrub(str(e))
        out(desc, text, known)
        return Failed(text)
    except Exception as e:  # a bug in this program or a broken step
        text = "EXCEPTION %s: %s" % (type(e).__name__, scrub(str(e)))
        out(desc, text, known)
        return Failed(text)
    out(desc, show(r) if show else fmt(r), known)
    return r


def known(desc, fn, show=None):
    """A step whose outcome on the mount differs from a local disk for a
    documented reason (README, "Writable mounts"): printed as "K ...",
    left out of the transcript comparison, and checked by
    t-rw-semantic.sh against what each side is known to do."""
    return step(desc, fn, show, known=True)


# ------------------------------------------------------------ helpers

def p(rel):
    return os.path.join(W, rel)


def podp(rel):
    return os.path.join(POD, rel)


def gen(n, seed):
    """n deterministic bytes."""
    return random.Random(seed).randbytes(n)


def write_all(fd, data):
    view = memoryview(data)
    n = 0
    while n < len(data):
        k = os.write(fd, view[n:])
        if k <= 0:
            raise OSError(errno.EIO, "short write")
        n += k
    return n


def read_fd(fd, offset=0, limit=None):
    chunks = []
    while True:
        want = 4 * MiB if limit is None else min(4 * MiB, limit)
        if want == 0:
            break
        b = os.pread(fd, want, offset)
        if not b:
            break
        chunks.append(b)
        offset += len(b)
        if limit is not None:
            limit -= len(b)
    return b"".join(chunks)


def read_file(rel):
    fd = os.open(p(rel), os.O_RDONLY)
    try:
        return read_fd(fd)
    finally:
        os.close(fd)


def make_file(rel, data, mode=0o644):
    fd = os.open(p(rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def same(a, b):
    return "same" if a == b else "DIFFERENT (%s vs %s)" % (short(a), short(b))


def kind(mode):
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"),
                       (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "chardev"),
                       (stat.S_ISBLK, "blockdev")):
        if test(mode):
            return name
    return "?"


def st_brief(st, size=True):
    s = "%s %04o nlink=%d" % (kind(st.st_mode), stat.S_IMODE(st.st_mode), st.st_nlink)
    if size and not stat.S_ISDIR(st.st_mode):
        s += " size=%d" % st.st_size
    return s


def lstat(rel):
    return st_brief(os.lstat(p(rel)))


def exists(rel):
    try:
        os.lstat(p(rel))
        return "exists"
    except FileNotFoundError:
        return "ENOENT"


def listdir(rel):
    return " ".join(sorted(os.listdir(p(rel)))) or "(empty)"


def zeros(data):
    return "all zeros" if data.count(0) == len(data) else "NOT ZEROS"


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


signal.signal(signal.SIGALRM, _alarm)


# ------------------------------------------------------------ steps

def t_create_write():
    section("create, write, pwrite, read back")
    step("open O_CREAT new file mode 0666", lambda: os.close(os.open(p("c1"), os.O_WRONLY | os.O_CREAT, 0o666)))
    step("lstat c1", lambda: lstat("c1"))
    step("open O_CREAT|O_EXCL new file mode 0640", lambda: os.close(os.open(p("c2"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)))
    step("lstat c2", lambda: lstat("c2"))
    step("open O_CREAT|O_EXCL on existing c1", lambda: os.close(os.open(p("c1"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)))
    step("open O_CREAT on existing c1 (no O_EXCL)", lambda: os.close(os.open(p("c1"), os.O_WRONLY | os.O_CREAT, 0o600)))
    step("open missing name without O_CREAT", lambda: os.open(p("nope"), os.O_RDONLY))
    step("open O_DIRECTORY on a file", lambda: os.open(p("c1"), os.O_RDONLY | os.O_DIRECTORY))
    os.mkdir(p("cdir"))
    step("open a directory O_WRONLY", lambda: os.open(p("cdir"), os.O_WRONLY))
    step("open a directory O_RDONLY|O_DIRECTORY", lambda: os.close(os.open(p("cdir"), os.O_RDONLY | os.O_DIRECTORY)))
    step("open a name under a file (c1/x)", lambda: os.open(p("c1/x"), os.O_RDONLY | os.O_CREAT, 0o644))
    step("open O_CREAT in a missing dir", lambda: os.open(p("missing/x"), os.O_RDONLY | os.O_CREAT, 0o644))

    def wr(name, data):
        fd = os.open(p(name), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            n = write_all(fd, data)
            back = read_fd(fd, 0)
            return "wrote %d, same fd reads %s" % (n, same(back, data))
        finally:
            os.close(fd)

    def pw(name, data, off):
        fd = os.open(p(name), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            n = os.pwrite(fd, data, off)
            st = os.fstat(fd)
            return "pwrote %d at %d, fstat size %d" % (n, off, st.st_size)
        finally:
            os.close(fd)

    for size in (0, 1, 4095, 4096, MiB + 3, 5 * MiB):
        data = gen(size, "w%d" % size)
        step("write %d bytes to w%d" % (size, size), lambda: wr("w%d" % size, data))
        step("read back w%d" % size, lambda: same(read_file("w%d" % size), data))
        step("lstat w%d" % size, lambda: lstat("w%d" % size))
        step("pwrite %d bytes at 7 into pw%d" % (size, size), lambda: pw("pw%d" % size, data, 7))
        want = (b"\0" * 7 + data) if size else b""
        step("read back pw%d" % size, lambda: same(read_file("pw%d" % size), want))

    # Overwrites in the middle, with the page cache warm.
    base = gen(3 * 4096 + 100, "mid")
    make_file("mid", base)
    step("read mid (warm cache)", lambda: short(read_file("mid")))

    def mid():
        fd = os.open(p("mid"), os.O_RDWR)
        try:
            os.pwrite(fd, b"X" * 5000, 4000)
            return os.pread(fd, 20, 3995)
        finally:
            os.close(fd)
    step("pwrite 5000 X at 4000 in mid, pread 20 at 3995", mid)
    want = base[:4000] + b"X" * 5000 + base[9000:]
    step("read back mid", lambda: same(read_file("mid"), want))

    # O_TRUNC.
    make_file("tr", b"some content that is long enough")
    step("open tr O_WRONLY|O_TRUNC", lambda: os.close(os.open(p("tr"), os.O_WRONLY | os.O_TRUNC)))
    step("lstat tr", lambda: lstat("tr"))
    step("read tr", lambda: read_file("tr"))
    make_file("tr", b"0123456789")

    def trunc_write():
        fd = os.open(p("tr"), os.O_RDWR | os.O_TRUNC)
        try:
            os.write(fd, b"ab")
            return read_fd(fd, 0)
        finally:
            os.close(fd)
    step("O_RDWR|O_TRUNC on tr then write 'ab', read", trunc_write)

    # O_APPEND.
    make_file("ap", b"start|")

    def app():
        fd = os.open(p("ap"), os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, b"one|")
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, b"two|")
            return os.lseek(fd, 0, os.SEEK_CUR)
        finally:
            os.close(fd)
    step("O_APPEND: write, seek 0, write; offset after", app)
    step("read ap", lambda: read_file("ap"))

    def app_pwrite():
        fd = os.open(p("ap"), os.O_WRONLY | os.O_APPEND)
        try:
            return os.pwrite(fd, b"PW|", 0)
        finally:
            os.close(fd)
    step("O_APPEND: pwrite at 0 (Linux appends)", app_pwrite)
    step("read ap", lambda: read_file("ap"))

    def two_appenders():
        make_file("ap2", b"")
        a = os.open(p("ap2"), os.O_WRONLY | os.O_APPEND)
        b = os.open(p("ap2"), os.O_WRONLY | os.O_APPEND)
        try:
            for i in range(6):
                os.write(a if i % 2 == 0 else b, (b"A%d." if i % 2 == 0 else b"B%d..") % i)
            os.write(a, gen(70000, "ap2a"))
            os.write(b, b"<tail>")
        finally:
            os.close(a)
            os.close(b)
        d = read_file("ap2")
        return "%s + %s + %r" % (d[:26], short(d[26:-6]), d[-6:])
    step("two O_APPEND writers on ap2, interleaved", two_appenders)

    def appender_and_plain():
        make_file("ap3", b"")
        a = os.open(p("ap3"), os.O_WRONLY | os.O_APPEND)
        w = os.open(p("ap3"), os.O_WRONLY)
        try:
            os.write(w, b"plain-at-0|")
            os.write(a, b"appended|")
            os.write(w, b"plain-cont|")
            os.write(a, b"appended2|")
        finally:
            os.close(a)
            os.close(w)
        return read_file("ap3")
    step("O_APPEND writer and a plain writer on ap3", appender_and_plain)

    def mm():
        make_file("mm", gen(8192, "mm"))
        fd = os.open(p("mm"), os.O_RDWR)
        try:
            m = mmap.mmap(fd, 8192)
            m[100:107] = b"MMAPPED"
            m.flush()
            m.close()
        finally:
            os.close(fd)
        d = read_file("mm")
        return "%r %s" % (d[100:107], same(d, gen(8192, "mm")[:100] + b"MMAPPED" + gen(8192, "mm")[107:]))
    step("shared mmap write + msync, read back", mm)

    def cfr():
        make_file("cfr-src", gen(300000, "cfr"))
        make_file("cfr-dst", b"")
        s = os.open(p("cfr-src"), os.O_RDONLY)
        d = os.open(p("cfr-dst"), os.O_WRONLY)
        try:
            n = 0
            while n < 300000:
                k = os.copy_file_range(s, d, 300000 - n)
                if k == 0:
                    break
                n += k
        finally:
            os.close(s)
            os.close(d)
        return "%d copied, %s" % (n, same(read_file("cfr-dst"), gen(300000, "cfr")))
    step("copy_file_range 300000 bytes", cfr)


def t_truncate_sparse():
    section("truncate, ftruncate, sparse files, fallocate, fsync")
    make_file("t1", b"0123456789")
    step("truncate t1 to 100000 (grow)", lambda: os.truncate(p("t1"), 100000))
    step("lstat t1", lambda: lstat("t1"))
    step("read t1", lambda: "%r + %s" % (read_file("t1")[:10], zeros(read_file("t1")[10:])))
    step("truncate t1 to 5 (shrink)", lambda: os.truncate(p("t1"), 5))
    step("read t1", lambda: read_file("t1"))
    step("truncate t1 to 0", lambda: os.truncate(p("t1"), 0))
    step("lstat t1", lambda: lstat("t1"))
    step("truncate missing name", lambda: os.truncate(p("nope"), 0))
    step("truncate a directory", lambda: os.truncate(p("cdir"), 0))

    def ftr():
        fd = os.open(p("t2"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            res = []
            os.write(fd, b"hello world")
            os.ftruncate(fd, 3)
            res.append(read_fd(fd, 0))
            res.append(os.fstat(fd).st_size)
            os.ftruncate(fd, 8192)
            d = read_fd(fd, 0)
            res.append("%r+%s" % (d[:3], zeros(d[3:])))
            res.append(os.fstat(fd).st_size)
            os.pwrite(fd, b"tail", 8192)
            os.ftruncate(fd, 8194)
            res.append(read_fd(fd, 8190))
            return res
        finally:
            os.close(fd)
    step("ftruncate t2: 11->3, read, ->8192, read, write at end, ->8194", ftr)
    step("read t2", lambda: short(read_file("t2")))

    def trunc_ro():
        fd = os.open(p("t2"), os.O_RDONLY)
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)
    step("ftruncate on an O_RDONLY fd", trunc_ro)

    def sparse():
        fd = os.open(p("sparse"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            n = os.pwrite(fd, b"end-of-sparse", 10 * MiB)
            return "pwrote %d, fstat size %d" % (n, os.fstat(fd).st_size)
        finally:
            os.close(fd)
    step("pwrite at 10 MiB into an empty file", sparse)
    step("lstat sparse", lambda: lstat("sparse"))

    def sparse_read():
        d = read_file("sparse")
        return "len %d, hole %s, tail %r" % (len(d), zeros(d[:10 * MiB]), d[10 * MiB:])
    step("read sparse", sparse_read)

    def sparse_mid():
        fd = os.open(p("sparse"), os.O_RDONLY)
        try:
            return zeros(os.pread(fd, 4096, 5 * MiB + 17))
        finally:
            os.close(fd)
    step("pread 4096 in the middle of the hole", sparse_mid)

    def pfa():
        fd = os.open(p("fa1"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.posix_fallocate(fd, 0, MiB)
            return os.fstat(fd).st_size
        finally:
            os.close(fd)
    step("posix_fallocate fa1 0..1MiB, size", pfa)
    step("read fa1", lambda: "len %d %s" % (len(read_file("fa1")), zeros(read_file("fa1"))))

    def pfa_mid():
        fd = os.open(p("fa1"), os.O_RDWR)
        try:
            os.pwrite(fd, b"data", 100)
            os.posix_fallocate(fd, 4096, 2 * MiB)
            return os.fstat(fd).st_size
        finally:
            os.close(fd)
    step("posix_fallocate fa1 4096..+2MiB after a write, size", pfa_mid)
    step("read fa1", lambda: "len %d %r" % (len(read_file("fa1")), read_file("fa1")[98:106]))

    def falloc(rel, mode, off, ln):
        fd = os.open(p(rel), os.O_RDWR)
        try:
            if libc.fallocate(fd, mode, off, ln) != 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e))
            return "ok, size %d" % os.fstat(fd).st_size
        finally:
            os.close(fd)
    base = gen(65536, "fa2")
    make_file("fa2", base)
    step("fallocate KEEP_SIZE fa2 64KiB..+1MiB", lambda: falloc("fa2", FALLOC_FL_KEEP_SIZE, 65536, MiB))
    step("lstat fa2", lambda: lstat("fa2"))
    step("read fa2", lambda: same(read_file("fa2"), base))
    step("fallocate PUNCH_HOLE|KEEP_SIZE fa2 4096..+8192", lambda: falloc("fa2", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192))
    step("lstat fa2", lambda: lstat("fa2"))

    def punched():
        d = read_file("fa2")
        return "len %d, before %s, hole %s, after %s" % (
            len(d), same(d[:4096], base[:4096]), zeros(d[4096:12288]), same(d[12288:], base[12288:]))
    step("read fa2", punched)
    step("fallocate PUNCH_HOLE without KEEP_SIZE", lambda: falloc("fa2", FALLOC_FL_PUNCH_HOLE, 0, 4096))
    step("fallocate mode 0 grows fa2 to 100000", lambda: falloc("fa2", 0, 0, 100000))

    def syncs():
        fd = os.open(p("fs1"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, b"sync me")
            r1 = os.fsync(fd)
            os.write(fd, b" again")
            r2 = os.fdatasync(fd)
            return [fmt(r1), fmt(r2)]
        finally:
            os.close(fd)
    step("fsync, fdatasync", syncs)

    def sync_dir():
        fd = os.open(p("cdir"), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    step("fsync of a directory fd", sync_dir)

    def sync_ro():
        fd = os.open(p("fs1"), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    step("fsync of an O_RDONLY fd", sync_ro)
    step("read fs1", lambda: read_file("fs1"))


def t_special():
    section("special files: device node, socket, O_TMPFILE")
    step("mknod chardev c 1 3 mode 0600", lambda: os.mknod(p("chardev"), stat.S_IFCHR | 0o600, os.makedev(1, 3)))
    step("lstat chardev, rdev", lambda: (lambda st: "%s rdev=%d:%d" % (st_brief(st, size=False), os.major(st.st_rdev), os.minor(st.st_rdev)))(os.lstat(p("chardev"))))
    # (Not opened: mounts of a target are nodev.)

    def sock():
        import socket
        sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sk.bind(p("sock"))
            sk.listen(1)
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(p("sock"))
            a, _ = sk.accept()
            c.sendall(b"over the socket")
            r = a.recv(100)
            a.close()
            c.close()
            return [lstat("sock"), r]
        finally:
            sk.close()
    step("bind a unix socket, connect, send", sock)

    def tmpfile():
        fd = os.open(W, os.O_TMPFILE | os.O_RDWR, 0o640)
        try:
            os.write(fd, b"anonymous until linked")
            st = os.fstat(fd)
            before = "nlink=%d size=%d" % (st.st_nlink, st.st_size)
            # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N, as open(2) shows.
            if libc.linkat(AT_FDCWD, b"/proc/self/fd/%d" % fd, AT_FDCWD,
                           p("tmpfile-linked").encode(), 0x400) != 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e))
            r = [before, lstat("tmpfile-linked"), read_file("tmpfile-linked")]
            os.unlink(p("tmpfile-linked"))
            return r
        finally:
            os.close(fd)
    known("O_TMPFILE, write, link it in by /proc/self/fd", tmpfile)


def t_unlink():
    section("unlink")
    make_file("u1", b"x")
    step("unlink u1", lambda: os.unlink(p("u1")))
    step("lstat u1", lambda: exists("u1"))
    step("unlink u1 again (missing)", lambda: os.unlink(p("u1")))
    step("unlink a directory", lambda: os.unlink(p("cdir")))
    step("unlink a name under a file", lambda: os.unlink(p("c1/x")))
    step("create u1 again after unlink", lambda: make_file("u1", b"second life"))
    step("read u1", lambda: read_file("u1"))


def renameat2(a, b, flags):
    if libc.renameat2(AT_FDCWD, p(a).encode(), AT_FDCWD, p(b).encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def t_rename():
    section("rename")
    os.mkdir(p("r"))
    make_file("r/a", b"content of a")
    step("rename r/a -> r/b", lambda: os.rename(p("r/a"), p("r/b")))
    step("read r/b", lambda: read_file("r/b"))
    step("lstat r/a", lambda: exists("r/a"))

    make_file("r/src", b"source")
    make_file("r/dst", b"destination, longer")
    step("rename r/src over existing r/dst", lambda: os.rename(p("r/src"), p("r/dst")))
    step("read r/dst", lambda: read_file("r/dst"))
    step("lstat r/dst", lambda: lstat("r/dst"))
    step("lstat r/src", lambda: exists("r/src"))

    # Cached content of the replaced file must not come back.
    make_file("r/c1", b"version one")
    make_file("r/c2", b"v2")
    read_file("r/c1")
    read_file("r/c2")
    step("rename r/c2 over r/c1 (both read before)", lambda: os.rename(p("r/c2"), p("r/c1")))
    step("read r/c1", lambda: read_file("r/c1"))

    os.mkdir(p("r/d1"))
    make_file("r/d1/f", b"in d1")
    os.mkdir(p("r/d2"))
    step("rename dir r/d1 over empty dir r/d2", lambda: os.rename(p("r/d1"), p("r/d2")))
    step("read r/d2/f", lambda: read_file("r/d2/f"))
    step("lstat r/d1", lambda: exists("r/d1"))
    step("lstat r/d1/f", lambda: exists("r/d1/f"))

    os.mkdir(p("r/d3"))
    make_file("r/d3/g", b"in d3")
    step("rename dir r/d3 over non-empty dir r/d2", lambda: os.rename(p("r/d3"), p("r/d2")))
    step("read r/d2/f", lambda: read_file("r/d2/f"))
    step("read r/d3/g", lambda: read_file("r/d3/g"))
    step("rename file r/b over dir r/d3", lambda: os.rename(p("r/b"), p("r/d3")))
    step("rename dir r/d3 over file r/b", lambda: os.rename(p("r/d3"), p("r/b")))
    step("rename file r/b to itself", lambda: os.rename(p("r/b"), p("r/b")))
    step("read r/b", lambda: read_file("r/b"))
    step("rename dir r/d3 to itself", lambda: os.rename(p("r/d3"), p("r/d3")))
    os.mkdir(p("r/d3/sub"))
    step("rename dir r/d3 into r/d3/sub/x", lambda: os.rename(p("r/d3"), p("r/d3/sub/x")))
    step("rename dir r/d3 into r/d3/x", lambda: os.rename(p("r/d3"), p("r/d3/x")))
    step("rename missing r/nope", lambda: os.rename(p("r/nope"), p("r/x")))
    step("rename r/b into a missing dir", lambda: os.rename(p("r/b"), p("r/nodir/b")))
    step("rename r/b under a file (r/dst/b)", lambda: os.rename(p("r/b"), p("r/dst/b")))
    step("rename over a non-empty dir's ancestor (r/d3/sub -> r)", lambda: os.rename(p("r/d3/sub"), p("r")))

    # Hard links of the same inode: rename is a no-op, both names stay.
    make_file("r/h1", b"hard")
    os.link(p("r/h1"), p("r/h2"))
    step("rename r/h1 over its hard link r/h2", lambda: os.rename(p("r/h1"), p("r/h2")))
    step("lstat r/h1, r/h2", lambda: [lstat("r/h1"), lstat("r/h2")])

    # renameat2.
    make_file("r/n1", b"n1")
    make_file("r/n2", b"n2")
    step("renameat2 NOREPLACE r/n1 -> existing r/n2", lambda: renameat2("r/n1", "r/n2", RENAME_NOREPLACE))
    step("read r/n1, r/n2", lambda: [read_file("r/n1"), read_file("r/n2")])
    step("renameat2 NOREPLACE r/n1 -> new r/n3", lambda: renameat2("r/n1", "r/n3", RENAME_NOREPLACE))
    step("read r/n3", lambda: read_file("r/n3"))
    step("lstat r/n1", lambda: exists("r/n1"))

    make_file("r/x1", b"first file")
    make_file("r/x2", b"second")
    read_file("r/x1")
    read_file("r/x2")
    step("renameat2 EXCHANGE r/x1 <-> r/x2", lambda: renameat2("r/x1", "r/x2", RENAME_EXCHANGE))
    step("read r/x1, r/x2", lambda: [read_file("r/x1"), read_file("r/x2")])
    step("lstat r/x1, r/x2", lambda: [lstat("r/x1"), lstat("r/x2")])
    os.mkdir(p("r/xd"))
    make_file("r/xd/inside", b"inside xd")
    step("renameat2 EXCHANGE file r/x1 <-> dir r/xd", lambda: renameat2("r/x1", "r/xd", RENAME_EXCHANGE))
    step("lstat r/x1, r/xd", lambda: [lstat("r/x1"), lstat("r/xd")])
    step("read r/x1/inside", lambda: read_file("r/x1/inside"))
    step("read r/xd", lambda: read_file("r/xd"))
    step("lstat r/xd/inside", lambda: exists("r/xd/inside"))
    os.mkdir(p("r/e1"))
    os.mkdir(p("r/e2"))
    make_file("r/e1/f", b"e1's f")
    make_file("r/e2/f", b"e2's f")
    read_file("r/e1/f")
    read_file("r/e2/f")
    step("renameat2 EXCHANGE dir r/e1 <-> dir r/e2", lambda: renameat2("r/e1", "r/e2", RENAME_EXCHANGE))
    step("read r/e1/f, r/e2/f", lambda: [read_file("r/e1/f"), read_file("r/e2/f")])
    step("renameat2 EXCHANGE r/x2 <-> missing r/nope", lambda: renameat2("r/x2", "r/nope", RENAME_EXCHANGE))
    step("read r/x2", lambda: read_file("r/x2"))
    step("renameat2 NOREPLACE|EXCHANGE", lambda: renameat2("r/x2", "r/n3", RENAME_NOREPLACE | RENAME_EXCHANGE))
    step("listdir r", lambda: listdir("r"))

    # A directory with a tree in it.
    for d in ("tree", "tree/a", "tree/a/b", "tree/a/b/c"):
        os.mkdir(p(d))
    for f in ("tree/top", "tree/a/fa", "tree/a/b/fb", "tree/a/b/c/fc"):
        make_file(f, b"file " + f.encode())
        read_file(f)
    step("rename dir tree -> tree2 (a tree of 4 dirs, 4 files)", lambda: os.rename(p("tree"), p("tree2")))
    step("read all through tree2", lambda: [read_file(f) for f in ("tree2/top", "tree2/a/fa", "tree2/a/b/fb", "tree2/a/b/c/fc")])
    step("lstat tree, tree/a/b/c/fc", lambda: [exists("tree"), exists("tree/a/b/c/fc")])
    step("rename tree2/a/b -> tree2/b-moved-up", lambda: os.rename(p("tree2/a/b"), p("tree2/b-moved-up")))
    step("read tree2/b-moved-up/c/fc", lambda: read_file("tree2/b-moved-up/c/fc"))
    step("lstat tree2/a/b/c/fc", lambda: exists("tree2/a/b/c/fc"))
    # The old name again, with other content: nothing of the old tree shows.
    os.mkdir(p("tree"))
    make_file("tree/top", b"the new t's top")
    step("new dir tree, read tree/top and tree2/top", lambda: [read_file("tree/top"), read_file("tree2/top")])
    step("listdir tree, tree2, tree2/a", lambda: [listdir("tree"), listdir("tree2"), listdir("tree2/a")])

    # A file renamed while open.
    def open_rename():
        make_file("o1", b"before rename|")
        fd = os.open(p("o1"), os.O_RDWR)
        try:
            os.rename(p("o1"), p("o2"))
            os.lseek(fd, 0, os.SEEK_END)
            os.write(fd, b"written after rename|")
            os.fsync(fd)
            a = read_fd(fd, 0)
            b = read_file("o2")
            os.mkdir(p("od"))
            os.rename(p("o2"), p("od/o3"))
            os.rename(p("od"), p("od2"))
            os.write(fd, b"after two more renames|")
            os.ftruncate(fd, os.fstat(fd).st_size)
            c = read_fd(fd, 0)
            return [a, b, exists("o1"), exists("o2"), c]
        finally:
            os.close(fd)
    step("rename a file while open, write through the fd", open_rename)
    step("read od2/o3", lambda: read_file("od2/o3"))

    # A file inside a directory renamed while the file is open.
    def open_dir_rename():
        os.mkdir(p("odir"))
        make_file("odir/f", b"in odir|")
        fd = os.open(p("odir/f"), os.O_RDWR | os.O_APPEND)
        try:
            os.rename(p("odir"), p("odir-moved"))
            os.write(fd, b"appended after dir rename|")
            os.close(fd)
            fd = -1
            return read_file("odir-moved/f")
        finally:
            if fd >= 0:
                os.close(fd)
    step("rename the dir of an open file, append through the fd", open_dir_rename)


def t_dirs_links():
    section("mkdir, rmdir, symlink, link, mkfifo")
    step("mkdir m (mode 0777, umask 022)", lambda: os.mkdir(p("m"), 0o777))
    step("lstat m", lambda: lstat("m"))
    step("mkdir m again", lambda: os.mkdir(p("m")))
    step("mkdir over a file", lambda: os.mkdir(p("c1")))
    step("mkdir in a missing dir", lambda: os.mkdir(p("nodir/m")))
    step("mkdir m/sub mode 0700", lambda: os.mkdir(p("m/sub"), 0o700))
    step("lstat m, m/sub", lambda: [lstat("m"), lstat("m/sub")])
    make_file("m/f", b"f")
    step("rmdir non-empty m", lambda: os.rmdir(p("m")))
    step("rmdir a file", lambda: os.rmdir(p("m/f")))
    step("rmdir missing", lambda: os.rmdir(p("m/nope")))
    step("rmdir m/sub", lambda: os.rmdir(p("m/sub")))
    step("lstat m after rmdir of m/sub", lambda: lstat("m"))
    step("lstat m/sub", lambda: exists("m/sub"))
    step("mkdir m/sub again", lambda: os.mkdir(p("m/sub")))
    step("rmdir m/sub/. ", lambda: os.rmdir(p("m/sub/.")))

    section("symlinks (relative targets)")
    make_file("m/target", b"the target")
    step("symlink m/l1 -> target", lambda: os.symlink("target", p("m/l1")))
    step("readlink m/l1", lambda: os.readlink(p("m/l1")))
    step("lstat m/l1", lambda: lstat("m/l1"))
    step("stat m/l1 (follows)", lambda: st_brief(os.stat(p("m/l1"))))
    step("read through m/l1", lambda: read_file("m/l1"))
    step("symlink l-up -> m/target", lambda: os.symlink("m/target", p("l-up")))
    step("symlink m/l-rel -> ../l-up (chain)", lambda: os.symlink("../l-up", p("m/l-rel")))
    step("read through m/l-rel", lambda: read_file("m/l-rel"))
    step("symlink m/l-dir -> sub", lambda: os.symlink("sub", p("m/l-dir")))
    make_file("m/sub/deep", b"deep")
    step("read through m/l-dir/deep", lambda: read_file("m/l-dir/deep"))
    step("symlink m/l-dangling -> does/not/exist", lambda: os.symlink("does/not/exist", p("m/l-dangling")))
    step("stat m/l-dangling", lambda: os.stat(p("m/l-dangling")))
    step("readlink m/l-dangling", lambda: os.readlink(p("m/l-dangling")))
    step("symlink over an existing name", lambda: os.symlink("x", p("m/l1")))
    step("readlink of a file", lambda: os.readlink(p("m/target")))
    step("symlink m/l-odd with spaces, dots, 200 chars", lambda: os.symlink("../a b/./c/" + "z" * 189, p("m/l-odd")))
    step("readlink m/l-odd", lambda: os.readlink(p("m/l-odd")))
    step("open O_NOFOLLOW on a symlink", lambda: os.open(p("m/l1"), os.O_RDONLY | os.O_NOFOLLOW))
    step("open O_CREAT|O_EXCL on a symlink", lambda: os.open(p("m/l1"), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644))
    step("symlink m/l-new -> made-by-open", lambda: os.symlink("made-by-open", p("m/l-new")))

    def creat_through():
        fd = os.open(p("m/l-new"), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.write(fd, b"created through a dangling link")
        finally:
            os.close(fd)
        return [lstat("m/made-by-open"), read_file("m/made-by-open")]
    step("open O_CREAT through the dangling m/l-new", creat_through)
    step("unlink m/l1 (the link, not the target)", lambda: os.unlink(p("m/l1")))
    step("lstat m/l1, m/target", lambda: [exists("m/l1"), lstat("m/target")])
    step("rename symlink m/l-rel -> m/l-rel2", lambda: os.rename(p("m/l-rel"), p("m/l-rel2")))
    step("readlink m/l-rel2, read through it", lambda: [os.readlink(p("m/l-rel2")), read_file("m/l-rel2")])

    section("hard links")
    make_file("h1", b"shared content")
    step("lstat h1", lambda: lstat("h1"))
    step("link h1 -> h2", lambda: os.link(p("h1"), p("h2")))
    step("lstat h1, h2", lambda: [lstat("h1"), lstat("h2")])

    def shared():
        fd = os.open(p("h2"), os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, b" + written via h2")
        finally:
            os.close(fd)
        return read_file("h1")
    step("append via h2, read via h1", shared)
    step("link h1 -> m/h3 (other dir)", lambda: os.link(p("h1"), p("m/h3")))
    step("lstat h1, h2, m/h3", lambda: [lstat("h1"), lstat("h2"), lstat("m/h3")])
    step("unlink h1", lambda: os.unlink(p("h1")))
    step("lstat h2, m/h3", lambda: [lstat("h2"), lstat("m/h3")])
    step("unlink m/h3", lambda: os.unlink(p("m/h3")))
    step("lstat h2", lambda: lstat("h2"))
    step("read h2", lambda: read_file("h2"))
    step("link to a directory", lambda: os.link(p("m"), p("m-link")))
    step("link over an existing name", lambda: os.link(p("h2"), p("c1")))
    step("link of a missing name", lambda: os.link(p("nope"), p("nope2")))
    step("link of a symlink (not followed)", lambda: os.link(p("l-up"), p("l-up-hard"), follow_symlinks=False))
    step("lstat l-up, l-up-hard", lambda: [lstat("l-up"), lstat("l-up-hard")])
    step("readlink l-up-hard", lambda: os.readlink(p("l-up-hard")))

    section("fifo")
    step("mkfifo fifo", lambda: os.mkfifo(p("fifo")))
    step("lstat fifo", lambda: lstat("fifo"))
    step("mkfifo fifo2 mode 0600", lambda: os.mkfifo(p("fifo2"), 0o600))
    step("lstat fifo2", lambda: lstat("fifo2"))
    step("mkfifo over an existing name", lambda: os.mkfifo(p("fifo")))

    def fifo_io():
        r = os.open(p("fifo"), os.O_RDONLY | os.O_NONBLOCK)
        w = os.open(p("fifo"), os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(w, b"through the fifo")
            return os.read(r, 100)
        finally:
            os.close(w)
            os.close(r)
    step("fifo: open both ends, write, read", fifo_io)
    step("rename fifo -> fifo-moved", lambda: os.rename(p("fifo"), p("fifo-moved")))
    step("lstat fifo-moved", lambda: lstat("fifo-moved"))


def t_attrs():
    section("chmod, chown, utimens")
    make_file("a1", b"attrs")
    step("chmod a1 0600", lambda: os.chmod(p("a1"), 0o600))
    step("lstat a1", lambda: lstat("a1"))
    step("chmod a1 04755", lambda: os.chmod(p("a1"), 0o4755))
    step("lstat a1", lambda: lstat("a1"))

    def write_suid():
        fd = os.open(p("a1"), os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, b" more")
        finally:
            os.close(fd)
        return lstat("a1")
    step("write to the 04755 a1 as root, lstat", write_suid)
    step("chmod a1 02755", lambda: os.chmod(p("a1"), 0o2755))
    step("lstat a1", lambda: lstat("a1"))
    step("chmod a1 0000", lambda: os.chmod(p("a1"), 0))
    step("read a1 (mode 0000, as root)", lambda: read_file("a1"))
    step("fchmod a1 0640", lambda: (lambda fd: (os.fchmod(fd, 0o640), os.close(fd)))(os.open(p("a1"), os.O_RDONLY)) and None)
    step("lstat a1", lambda: lstat("a1"))
    os.mkdir(p("adir"))
    step("chmod adir 01777", lambda: os.chmod(p("adir"), 0o1777))
    step("lstat adir", lambda: lstat("adir"))
    step("chmod adir 02775", lambda: os.chmod(p("adir"), 0o2775))
    step("lstat adir", lambda: lstat("adir"))
    step("mkdir adir/inherit (setgid dir)", lambda: os.mkdir(p("adir/inherit"), 0o755))
    step("lstat adir/inherit", lambda: lstat("adir/inherit"))
    step("chmod missing", lambda: os.chmod(p("nope"), 0o644))

    def owner(rel, follow=True):
        st = os.stat(p(rel), follow_symlinks=follow)
        return "%d:%d %04o" % (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    step("chown a1 1234:5678", lambda: os.chown(p("a1"), 1234, 5678))
    step("owner a1", lambda: owner("a1"))
    step("read a1 (owned by 1234, as root)", lambda: read_file("a1"))
    step("chown a1 0:0", lambda: os.chown(p("a1"), 0, 0))
    step("owner a1", lambda: owner("a1"))
    step("chmod a1 04755 then chown 1234:5678 (suid dropped)",
         lambda: (os.chmod(p("a1"), 0o4755), os.chown(p("a1"), 1234, 5678)) and owner("a1"))
    step("chown a1 -1:0 (group only)", lambda: os.chown(p("a1"), -1, 0))
    step("owner a1", lambda: owner("a1"))
    step("chown a1 0:-1 (owner only)", lambda: os.chown(p("a1"), 0, -1))
    step("owner a1", lambda: owner("a1"))
    step("chown adir 1234:5678", lambda: os.chown(p("adir"), 1234, 5678))
    step("owner adir", lambda: owner("adir"))
    step("symlink alink -> a1", lambda: os.symlink("a1", p("alink")))
    step("lchown alink 4321:8765", lambda: os.chown(p("alink"), 4321, 8765, follow_symlinks=False))
    step("owner alink (lstat), a1 (stat)", lambda: [owner("alink", False), owner("a1")])
    step("chown via alink (follows) 0:0", lambda: os.chown(p("alink"), 0, 0))
    step("owner alink (lstat), a1 (stat)", lambda: [owner("alink", False), owner("a1")])
    step("create a file in the 1234:5678 setgid adir", lambda: make_file("adir/new", b"n"))
    step("owner adir/new", lambda: owner("adir/new"))

    def times(rel, follow=True):
        st = os.stat(p(rel), follow_symlinks=follow)
        return "atime_ns=%d mtime_ns=%d" % (st.st_atime_ns, st.st_mtime_ns)
    step("utime a1 ns=(1000000001123456789, 1200000000987654321)",
         lambda: os.utime(p("a1"), ns=(1000000001123456789, 1200000000987654321)))
    step("times a1", lambda: times("a1"))
    step("utime a1 ns=(1, 999999999) (1970)", lambda: os.utime(p("a1"), ns=(1, 999999999)))
    step("times a1", lambda: times("a1"))
    step("utime a1 ns=(-1500000000, -86400000000001) (before 1970)",
         lambda: os.utime(p("a1"), ns=(-1500000000, -86400000000001)))
    step("times a1", lambda: times("a1"))
    step("utime a1 ns=(4102444800000000001, 4102444800999999999) (2100)",
         lambda: os.utime(p("a1"), ns=(4102444800000000001, 4102444800999999999)))
    step("times a1", lambda: times("a1"))
    step("utime adir ns=(1111111111111111111, 1222222222222222222)",
         lambda: os.utime(p("adir"), ns=(1111111111111111111, 1222222222222222222)))
    step("times adir", lambda: times("adir"))

    def futime():
        fd = os.open(p("a1"), os.O_RDWR)
        try:
            os.utime(fd, ns=(1300000000000000003, 1300000000000000004))
        finally:
            os.close(fd)
        return times("a1")
    step("futimens a1 ns=(1300000000000000003, 1300000000000000004)", futime)
    step("utime alink follow_symlinks=False ns=(1400000000000000005, 1400000000000000006)",
         lambda: os.utime(p("alink"), ns=(1400000000000000005, 1400000000000000006), follow_symlinks=False))
    step("times alink (lstat), a1 (stat)", lambda: [times("alink", False), times("a1")])

    def write_then_utime():
        fd = os.open(p("a1"), os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, b"!")
            os.utime(p("a1"), ns=(1500000000000000007, 1500000000000000008))
        finally:
            os.close(fd)
        return times("a1")
    step("write to a1 with an fd open, utime by name, close, times", write_then_utime)
    step("times a1 again", lambda: times("a1"))
    step("utime missing", lambda: os.utime(p("nope"), ns=(1, 1)))


def t_xattr():
    section("extended attributes (user.*)")
    make_file("x1", b"xattrs")

    def lx(rel, follow=True):
        return sorted(n for n in os.listxattr(p(rel), follow_symlinks=follow) if n.startswith("user."))
    step("listxattr x1", lambda: lx("x1"))
    step("setxattr x1 user.one=b'1'", lambda: os.setxattr(p("x1"), "user.one", b"1"))
    step("getxattr x1 user.one", lambda: os.getxattr(p("x1"), "user.one"))
    step("setxattr x1 user.empty=b''", lambda: os.setxattr(p("x1"), "user.empty", b""))
    step("getxattr x1 user.empty", lambda: os.getxattr(p("x1"), "user.empty"))
    bin_value = bytes(range(256))
    step("setxattr x1 user.bin = bytes 0..255", lambda: os.setxattr(p("x1"), "user.bin", bin_value))
    step("getxattr x1 user.bin", lambda: same(os.getxattr(p("x1"), "user.bin"), bin_value))
    big = gen(2000, "xbig")
    step("setxattr x1 user.big = 2000 bytes", lambda: os.setxattr(p("x1"), "user.big", big))
    step("getxattr x1 user.big", lambda: same(os.getxattr(p("x1"), "user.big"), big))
    step("setxattr x1 user.with space and é", lambda: os.setxattr(p("x1"), "user.with space and é", b"v"))
    step("listxattr x1", lambda: lx("x1"))
    step("setxattr XATTR_CREATE on existing user.one", lambda: os.setxattr(p("x1"), "user.one", b"2", os.XATTR_CREATE))
    step("getxattr x1 user.one", lambda: os.getxattr(p("x1"), "user.one"))
    step("setxattr XATTR_REPLACE on missing user.two", lambda: os.setxattr(p("x1"), "user.two", b"2", os.XATTR_REPLACE))
    step("setxattr XATTR_REPLACE on existing user.one", lambda: os.setxattr(p("x1"), "user.one", b"replaced", os.XATTR_REPLACE))
    step("getxattr x1 user.one", lambda: os.getxattr(p("x1"), "user.one"))
    step("setxattr XATTR_CREATE new user.two", lambda: os.setxattr(p("x1"), "user.two", b"2", os.XATTR_CREATE))
    step("getxattr missing user.nope", lambda: os.getxattr(p("x1"), "user.nope"))
    step("removexattr user.two", lambda: os.removexattr(p("x1"), "user.two"))
    step("removexattr missing user.two", lambda: os.removexattr(p("x1"), "user.two"))
    step("getxattr removed user.two", lambda: os.getxattr(p("x1"), "user.two"))
    step("listxattr x1", lambda: lx("x1"))
    step("setxattr with a name without namespace", lambda: os.setxattr(p("x1"), "nonamespace", b"v"))
    step("setxattr on a missing file", lambda: os.setxattr(p("nope"), "user.a", b"v"))
    os.mkdir(p("xdir"))
    step("setxattr xdir user.d", lambda: os.setxattr(p("xdir"), "user.d", b"on a dir"))
    step("getxattr xdir user.d", lambda: os.getxattr(p("xdir"), "user.d"))
    os.symlink("x1", p("xlink"))
    step("setxattr via symlink xlink (follows) user.via", lambda: os.setxattr(p("xlink"), "user.via", b"link"))
    step("getxattr x1 user.via", lambda: os.getxattr(p("x1"), "user.via"))
    step("setxattr on the symlink itself (no follow)", lambda: os.setxattr(p("xlink"), "user.l", b"v", follow_symlinks=False))
    step("listxattr the symlink itself", lambda: lx("xlink", False))

    def fxattr():
        fd = os.open(p("x1"), os.O_RDONLY)
        try:
            os.setxattr(fd, "user.fd", b"by fd")
            return [os.getxattr(fd, "user.fd"), len(lx("x1"))]
        finally:
            os.close(fd)
    step("fsetxattr/fgetxattr user.fd", fxattr)
    step("rename x1 -> x2, getxattr x2 user.one", lambda: (os.rename(p("x1"), p("x2")), os.getxattr(p("x2"), "user.one"))[1])
    step("listxattr x2", lambda: lx("x2"))
    make_file("x3", b"x3")
    os.setxattr(p("x3"), "user.gone", b"x")
    step("unlink x3, create x3 again, listxattr", lambda: (os.unlink(p("x3")), make_file("x3", b"new"), lx("x3"))[2])


def t_open_unlinked():
    section("open, then unlinked")

    def ou():
        res = []
        make_file("ou", b"abc")
        fd = os.open(p("ou"), os.O_RDWR)
        try:
            os.unlink(p("ou"))
            res.append(exists("ou"))
            os.lseek(fd, 0, os.SEEK_END)
            os.write(fd, b"def")
            res.append(read_fd(fd, 0))
            st = os.fstat(fd)
            res.append("fstat size=%d nlink=%d" % (st.st_size, st.st_nlink))
            os.write(fd, gen(200000, "ou"))
            d = read_fd(fd, 0)
            res.append("after a 200000-byte write: %s" % same(d, b"abcdef" + gen(200000, "ou")))
            os.ftruncate(fd, 2)
            res.append(read_fd(fd, 0))
            st = os.fstat(fd)
            res.append("fstat size=%d nlink=%d" % (st.st_size, st.st_nlink))
            os.fsync(fd)
            # The same name for a new file while the old one is open.
            make_file("ou", b"a new file with the old name")
            res.append(read_file("ou"))
            res.append(read_fd(fd, 0))
            os.pwrite(fd, b"XY", 0)
            res.append(read_file("ou")[:5])
            res.append(" ".join(sorted(n for n in os.listdir(W) if n.startswith("ou"))))
        finally:
            os.close(fd)
        res.append(exists("ou"))
        return res
    step("open ou, unlink, write/read/fstat/ftruncate through the fd, new ou", ou)
    step("read ou", lambda: read_file("ou"))

    def ou_dir():
        os.mkdir(p("oudir"))
        make_file("oudir/f", b"in oudir")
        fd = os.open(p("oudir/f"), os.O_RDWR)
        try:
            os.unlink(p("oudir/f"))
            os.rmdir(p("oudir"))
            os.write(fd, b"IN")
            return [read_fd(fd, 0), exists("oudir")]
        finally:
            os.close(fd)
    step("open oudir/f, unlink it, rmdir oudir, write through the fd", ou_dir)

    def ou_two():
        make_file("ou2", b"two fds")
        a = os.open(p("ou2"), os.O_RDWR)
        b = os.open(p("ou2"), os.O_RDONLY)
        try:
            os.unlink(p("ou2"))
            os.pwrite(a, b"TWO", 0)
            os.close(a)
            a = -1
            return read_fd(b, 0)
        finally:
            if a >= 0:
                os.close(a)
            os.close(b)
    step("two fds on ou2, unlink, write via one, close it, read via the other", ou_two)

    def ou_rename_over():
        make_file("ou3", b"old ou3")
        make_file("ou3-new", b"replacement")
        fd = os.open(p("ou3"), os.O_RDWR)
        try:
            os.rename(p("ou3-new"), p("ou3"))
            os.write(fd, b"OLD")
            return [read_fd(fd, 0), read_file("ou3")]
        finally:
            os.close(fd)
    step("ou3 open, renamed over by another file, write via the fd", ou_rename_over)
    step("read ou3", lambda: read_file("ou3"))


def t_many():
    section("many small files")
    names = []
    for i in range(500):
        names.append("many/d%d/e%d/f%03d" % (i % 10, i % 7, i))
    dirs = sorted({os.path.dirname(n) for n in names})

    def content(n):
        i = int(n[-3:])
        seed = hashlib.sha256(n.encode()).digest()
        size = (i * 37) % 9000 if i % 50 else (4096 if i % 100 else 0)
        return (seed * (size // 32 + 1))[:size]

    def mk():
        for d in dirs:
            os.makedirs(p(d), exist_ok=True)
        for n in names:
            make_file(n, content(n))
        return "%d dirs, %d files" % (len(dirs), len(names))
    step("create 500 files in nested dirs", mk)

    def check():
        bad = [n for n in names if read_file(n) != content(n)]
        total = sum(len(content(n)) for n in names)
        return "%d files read back, %d bytes, %d differ%s" % (
            len(names), total, len(bad), (": " + " ".join(bad[:5])) if bad else "")
    step("read all back", check)

    def count():
        n = 0
        for d in dirs:
            n += len(os.listdir(p(d)))
        return n
    step("count names by listdir", count)

    def rm_some():
        for n in names[::3]:
            os.unlink(p(n))
        return sum(len(os.listdir(p(d))) for d in dirs)
    step("unlink every third, count again", rm_some)


def t_concurrent():
    section("concurrent writers")
    os.mkdir(p("conc"))
    n, size, chunk = 8, 4 * MiB, 128 * 1024 + 3
    errors = [None] * n

    def writer(i):
        try:
            data = gen(size, "conc%d" % i)
            fd = os.open(p("conc/w%d" % i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                off = 0
                while off < size:
                    k = os.pwrite(fd, data[off:off + chunk], off)
                    if k <= 0:
                        raise OSError(errno.EIO, "short write")
                    off += k
            finally:
                os.close(fd)
        except OSError as e:
            errors[i] = ename(e.errno)

    def run():
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [e or "ok" for e in errors]
    step("8 threads x 4 MiB each, chunks of 131075", run)
    for i in range(n):
        step("read back conc/w%d" % i, lambda: same(read_file("conc/w%d" % i), gen(size, "conc%d" % i)))

    # Readers and writers of the same big file at the same time: every
    # reader sees either old or new bytes per 4 KiB page, never a mix of
    # sizes; at the end the file is exactly the writers' bytes.
    make_file("conc/shared", b"\0" * (2 * MiB))
    errs = []

    def part_writer(i):
        try:
            fd = os.open(p("conc/shared"), os.O_WRONLY)
            try:
                data = gen(256 * 1024, "part%d" % i)
                os.pwrite(fd, data, i * 256 * 1024)
            finally:
                os.close(fd)
        except OSError as e:
            errs.append(ename(e.errno))

    def parts():
        threads = [threading.Thread(target=part_writer, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        want = b"".join(gen(256 * 1024, "part%d" % i) for i in range(8))
        return "%s, %s" % (" ".join(errs) or "no errors", same(read_file("conc/shared"), want))
    step("8 threads pwrite disjoint 256 KiB parts of one file", parts)


def t_more_io():
    section("odd offsets, EOF, SEEK_HOLE/DATA, EFBIG, O_DIRECT")
    make_file("eof", b"0123456789")

    def eof():
        fd = os.open(p("eof"), os.O_RDONLY)
        try:
            return [os.pread(fd, 10, 10), os.pread(fd, 10, 1000), os.pread(fd, 100, 5),
                    os.lseek(fd, 0, os.SEEK_END), os.lseek(fd, 0, os.SEEK_HOLE),
                    os.lseek(fd, 3, os.SEEK_DATA)]
        finally:
            os.close(fd)
    step("pread at EOF, past EOF, across EOF; SEEK_END, SEEK_HOLE, SEEK_DATA", eof)

    def seek_data_past():
        fd = os.open(p("eof"), os.O_RDONLY)
        try:
            return os.lseek(fd, 20, os.SEEK_DATA)
        finally:
            os.close(fd)
    step("SEEK_DATA past EOF", seek_data_past)

    def rw_wrong_mode():
        fd = os.open(p("eof"), os.O_RDONLY)
        try:
            try:
                os.write(fd, b"x")
                r1 = "ok"
            except OSError as e:
                r1 = ename(e.errno)
        finally:
            os.close(fd)
        fd = os.open(p("eof"), os.O_WRONLY)
        try:
            try:
                os.read(fd, 1)
                r2 = "ok"
            except OSError as e:
                r2 = ename(e.errno)
        finally:
            os.close(fd)
        return [r1, r2]
    step("write on O_RDONLY fd, read on O_WRONLY fd", rw_wrong_mode)

    def far():
        fd = os.open(p("far"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            n = os.pwrite(fd, b"far away", 1 << 40)
            return [n, os.fstat(fd).st_size, os.pread(fd, 100, (1 << 40) - 4),
                    zeros(os.pread(fd, 65536, 1 << 39))]
        finally:
            os.close(fd)
    step("pwrite at 1 TiB, fstat size, read around it", far)
    step("truncate far to 5", lambda: os.truncate(p("far"), 5))
    step("lstat far", lambda: lstat("far"))

    def efbig():
        make_file("big-off", b"before")
        fd = os.open(p("big-off"), os.O_RDWR)
        first = None
        try:
            try:
                os.pwrite(fd, b"too far", 1 << 44)
            except OSError as e:
                first = first or ename(e.errno)
            try:
                os.fsync(fd)
            except OSError as e:
                first = first or ename(e.errno)
        finally:
            try:
                os.close(fd)
            except OSError as e:
                first = first or ename(e.errno)
        return "first error from pwrite/fsync/close: %s" % (first or "none")
    step("pwrite at 16 TiB (past ext4's largest file)", efbig)
    step("lstat big-off", lambda: lstat("big-off"))
    step("read big-off", lambda: read_file("big-off"))
    step("truncate big-off to 16 TiB + 1", lambda: os.truncate(p("big-off"), (1 << 44) + 1))
    step("truncate big-off to -1", lambda: os.truncate(p("big-off"), -1))
    step("lstat big-off", lambda: lstat("big-off"))

    def odirect():
        buf = mmap.mmap(-1, 8192)
        buf.write(gen(8192, "odirect"))
        fd = os.open(p("odirect"), os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
        try:
            n = os.write(fd, buf)
            back = mmap.mmap(-1, 8192)
            k = os.preadv(fd, [back], 0)
            return [n, k, same(bytes(back), gen(8192, "odirect"))]
        finally:
            os.close(fd)
    step("O_DIRECT create, write 8192 aligned, preadv back", odirect)
    step("read odirect (buffered)", lambda: same(read_file("odirect"), gen(8192, "odirect")))

    def odirect_existing():
        fd = os.open(p("odirect"), os.O_RDONLY | os.O_DIRECT)
        try:
            back = mmap.mmap(-1, 4096)
            k = os.preadv(fd, [back], 4096)
            return [k, same(bytes(back), gen(8192, "odirect")[4096:])]
        finally:
            os.close(fd)
    step("O_DIRECT open of an existing file, preadv 4096 at 4096", odirect_existing)

    def utimensat(rel, at, mt, flags=0):
        class TS(ctypes.Structure):
            _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]
        ts = (TS * 2)(TS(*at), TS(*mt))
        if libc.utimensat(AT_FDCWD, p(rel).encode(), ts, flags) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
    make_file("ut", b"ut")
    os.utime(p("ut"), ns=(1600000000000000001, 1600000000000000002))

    def times(rel):
        st = os.lstat(p(rel))
        return "atime_ns=%d mtime_ns=%d" % (st.st_atime_ns, st.st_mtime_ns)
    step("utimensat ut atime=(1700000000, 7) mtime=UTIME_OMIT",
         lambda: utimensat("ut", (1700000000, 7), (0, UTIME_OMIT)))
    step("times ut", lambda: times("ut"))
    step("utimensat ut atime=UTIME_OMIT mtime=(1700000001, 8)",
         lambda: utimensat("ut", (0, UTIME_OMIT), (1700000001, 8)))
    step("times ut", lambda: times("ut"))

    def now():
        before = time.time_ns()
        utimensat("ut", (0, UTIME_OMIT), (0, UTIME_NOW))
        st = os.lstat(p("ut"))
        return "atime kept: %s, mtime now: %s" % (
            st.st_atime_ns == 1700000000000000007, st.st_mtime_ns >= before - 2000000000)
    step("utimensat ut atime=UTIME_OMIT mtime=UTIME_NOW", now)
    step("utimensat ut tv_nsec=1000000000 (invalid)", lambda: utimensat("ut", (1, 1000000000), (1, 0)))


def t_mmap_coherence():
    section("mmap, and one file through several fds")

    def mm_grow(how):
        if how == "create":
            fd = os.open(p("mg-create"), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            rel = "mg-create"
        elif how == "empty":
            make_file("mg-empty", b"")
            fd = os.open(p("mg-empty"), os.O_RDWR)
            rel = "mg-empty"
        else:
            make_file("mg-trunc", b"old content")
            fd = os.open(p("mg-trunc"), os.O_RDWR | os.O_TRUNC)
            rel = "mg-trunc"
        try:
            os.ftruncate(fd, 8192)
            m = mmap.mmap(fd, 8192)
            m[0:6] = b"MAPPED"
            m[8186:8192] = b"ENDMAP"
            m.flush()
            m.close()
        finally:
            os.close(fd)
        d = read_file(rel)
        return "%r ... %r, %d bytes" % (d[:6], d[-6:], len(d))
    step("O_CREAT|O_EXCL new file, ftruncate 8192, mmap MAP_SHARED, write, msync", lambda: mm_grow("create"))
    step("open an existing empty file, ftruncate 8192, mmap MAP_SHARED", lambda: mm_grow("empty"))
    step("open O_TRUNC a file, ftruncate 8192, mmap MAP_SHARED", lambda: mm_grow("trunc"))

    def mm_private():
        make_file("mp", b"private mapping")
        fd = os.open(p("mp"), os.O_RDONLY)
        try:
            m = mmap.mmap(fd, 15, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
            m[0:7] = b"CHANGED"
            r = bytes(m[:])
            m.close()
        finally:
            os.close(fd)
        return [r, read_file("mp")]
    step("MAP_PRIVATE write does not reach the file", mm_private)

    def fds_coherent():
        res = []
        make_file("dc", b"")
        a = os.open(p("dc"), os.O_RDWR)           # opened while empty
        os.write(a, gen(8192, "dc"))
        c = os.open(p("dc"), os.O_RDWR)           # opened with data
        try:
            res.append(same(read_fd(c, 0), gen(8192, "dc")))
            os.pwrite(a, b"NEW", 0)
            res.append(os.pread(c, 3, 0))
            m = mmap.mmap(c, 8192)
            res.append(bytes(m[0:3]))
            os.pwrite(a, b"AGAIN", 0)
            res.append(bytes(m[0:5]))
            m[100:104] = b"MMAP"
            res.append(os.pread(a, 4, 100))
            res.append(os.pread(c, 4, 100))
            os.pwrite(c, b"VIA-C", 200)
            res.append(os.pread(a, 5, 200))
            res.append(bytes(m[200:205]))
            os.ftruncate(a, 4096)
            res.append(os.fstat(c).st_size)
            res.append(len(read_fd(c, 0)))
            m.close()
        finally:
            os.close(a)
            os.close(c)
        return res
    step("fd a (opened empty) and fd c (opened with data) + a shared map of c", fds_coherent)

    def ping_pong():
        make_file("pp", b"")
        a = os.open(p("pp"), os.O_RDWR)
        make_file("pp2", b"x" * 100)
        c = os.open(p("pp"), os.O_RDWR)
        bad = 0
        try:
            for i in range(200):
                w, r = (a, c) if i % 2 else (c, a)
                data = b"%08d" % i
                os.pwrite(w, data, (i % 7) * 8)
                if os.pread(r, 8, (i % 7) * 8) != data:
                    bad += 1
        finally:
            os.close(a)
            os.close(c)
        return "%d of 200 reads stale" % bad
    step("200 x write through one fd, read at once through another", ping_pong)

    def pp_proc():
        make_file("pq", b"")
        fd = os.open(p("pq"), os.O_RDWR)
        bad = 0
        try:
            for i in range(30):
                data = b"round %03d" % i
                os.pwrite(fd, data, 0)
                got = in_child(lambda: read_file("pq")[:9].decode("latin-1"))
                if got != data.decode():
                    bad += 1
        finally:
            os.close(fd)
        return "%d of 30 stale" % bad
    step("30 x write, another process (mount side) opens and reads at once", pp_proc)

    def big_then(what):
        data = gen(3 * MiB, "wb")
        fd = os.open(p("wb-" + what), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            for off in range(0, len(data), 65536):
                os.pwrite(fd, data[off:off + 65536], off)
            if what == "stat":
                return [os.fstat(fd).st_size, os.stat(p("wb-stat")).st_size,
                        os.lseek(fd, 0, os.SEEK_END)]
            if what == "truncate":
                os.ftruncate(fd, 100)
                return [os.fstat(fd).st_size, same(read_fd(fd, 0), data[:100])]
            if what == "reader":
                r = os.open(p("wb-reader"), os.O_RDONLY)
                try:
                    return same(read_fd(r, 0), data)
                finally:
                    os.close(r)
            if what == "rename":
                os.rename(p("wb-rename"), p("wb-renamed"))
                os.pwrite(fd, b"after", 0)
                return None
        finally:
            os.close(fd)
    step("3 MiB in 64 KiB pwrites, then fstat/stat/SEEK_END at once", lambda: big_then("stat"))
    step("3 MiB in 64 KiB pwrites, then ftruncate 100 at once, fstat, read", lambda: big_then("truncate"))
    step("lstat wb-truncate after close", lambda: lstat("wb-truncate"))
    step("3 MiB in 64 KiB pwrites, a new fd reads it all at once", lambda: big_then("reader"))
    step("3 MiB in 64 KiB pwrites, rename, pwrite, close", lambda: big_then("rename"))
    step("read wb-renamed", lambda: short(read_file("wb-renamed")) + " " + same(read_file("wb-renamed"), b"after" + gen(3 * MiB, "wb")[5:]))

    def chunk_follow():
        make_file("cf", b"")
        a = os.open(p("cf"), os.O_WRONLY)
        b = os.open(p("cf"), os.O_RDONLY)
        bad = 0
        try:
            for i in range(64):
                chunk = gen(65536, "cf%d" % i)
                os.write(a, chunk)
                if os.pread(b, 65536, i * 65536) != chunk:
                    bad += 1
        finally:
            os.close(a)
            os.close(b)
        return "%d of 64 chunks stale" % bad
    step("64 x 64 KiB write through one fd, read back at once through another", chunk_follow)

    def appenders(pod_side):
        make_file("app-log", b"")
        sys.stdout.flush()
        pids = []
        for who in (b"M", b"P" if pod_side else b"N"):
            pid = os.fork()
            if pid == 0:
                path = podp("app-log") if who == b"P" else p("app-log")
                fd = os.open(path, os.O_WRONLY | os.O_APPEND)
                for i in range(500):
                    os.write(fd, who + b"%05d" % i + b"." * 57 + b"\n")
                os.close(fd)
                os._exit(0)
            pids.append(pid)
        for pid in pids:
            os.waitpid(pid, 0)
        d = read_file("app-log")
        os.unlink(p("app-log"))     # its order is the scheduler's: not in the dump
        recs = d.split(b"\n")[:-1]
        good = [r for r in recs if len(r) == 63 and r.endswith(b"." * 57)]
        by = {}
        for r in good:
            by[r[:1]] = by.get(r[:1], 0) + 1
        return "size %d, %d records, %d intact (%s)" % (
            len(d), len(recs), len(good), " ".join("%s:%d" % (k.decode(), v) for k, v in sorted(by.items())))
    step("two mount-side processes append 500 x 64 bytes each (O_APPEND)", lambda: appenders(False))
    step("a mount-side and a pod-side process append 500 x 64 bytes each (O_APPEND)", lambda: appenders(True))

    def exec_script():
        import subprocess
        make_file("script.sh", b"#!/bin/sh\necho \"hello from $0 $1\" | sed 's,.*/,,'\n", 0o755)
        r = subprocess.run([p("script.sh"), "arg"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return "exit %d: %r" % (r.returncode, r.stdout)
    step("write a script, run it", exec_script)

    def exec_busy():
        import subprocess
        fd = os.open(p("script.sh"), os.O_WRONLY | os.O_APPEND)
        try:
            try:
                subprocess.run([p("script.sh")], stdout=subprocess.PIPE)
                return "ran"
            except OSError as e:
                return ename(e.errno)
        finally:
            os.close(fd)
    step("run the script while it is open for writing", exec_busy)

    def write_while_running():
        import subprocess
        make_file("sleeper.sh", b"#!/bin/sh\nread x\n", 0o755)
        pr = subprocess.Popen([p("sleeper.sh")], stdin=subprocess.PIPE)
        try:
            time.sleep(0.2)
            try:
                os.close(os.open(p("sleeper.sh"), os.O_WRONLY))
                r = "ok"
            except OSError as e:
                r = ename(e.errno)
        finally:
            pr.communicate(b"\n")
        return r
    step("open O_WRONLY a script while /bin/sh runs it (not mapped: ok)", write_while_running)


def t_names_paths():
    section("names and long paths")
    os.mkdir(p("nm"))
    long255 = "L" * 255
    step("create a 255-byte name", lambda: make_file("nm/" + long255, b"255"))
    step("read it", lambda: read_file("nm/" + long255))
    step("rename it to another 255-byte name", lambda: os.rename(p("nm/" + long255), p("nm/" + "M" * 255)))
    step("create a 256-byte name", lambda: make_file("nm/" + "N" * 256, b"256"))
    step("mkdir a 256-byte name", lambda: os.mkdir(p("nm/" + "N" * 256)))
    step("lstat a 256-byte name", lambda: os.lstat(p("nm/" + "N" * 256)))
    utf = "日" * 85
    step("create a 255-byte UTF-8 name", lambda: make_file("nm/" + utf, b"utf"))
    odd = ["with space", "new\nline", "tab\there", "back\\slash", "quote\"'", "-dash",
           "...", "é", "\x01ctl", "*?[", "trailing space "]
    for n in odd:
        step("create %r" % n, lambda: make_file("nm/" + n, n.encode()))
    step("read all odd names back", lambda: all(read_file("nm/" + n) == n.encode() for n in odd))
    step("rename 'new\\nline' -> 'new\\nline2'", lambda: os.rename(p("nm/new\nline"), p("nm/new\nline2")))
    step("listdir nm", lambda: [repr(x) for x in sorted(os.listdir(p("nm")))])
    step("create a name with a non-UTF-8 byte", lambda: make_file("nm/\udcff-latin1", b"bytes"))
    step("listdir nm as bytes has it", lambda: b"\xff-latin1" in os.listdir(os.fsencode(p("nm"))))

    # A directory reached by fd, renamed: relative operations follow it.
    os.mkdir(p("cw"))
    dfd = os.open(p("cw"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        step("rename dir cw -> cw2 while a dir fd is open on it", lambda: os.rename(p("cw"), p("cw2")))

        def rel_create():
            fd = os.open("new", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=dfd)
            os.write(fd, b"created by dir fd")
            os.close(fd)
            return read_file("cw2/new")
        step("create 'new' relative to the dir fd, read cw2/new", rel_create)
        step("mkdir 'sub' relative to the dir fd", lambda: os.mkdir("sub", dir_fd=dfd))
        step("rename new -> sub/new2 relative to the dir fd",
             lambda: os.rename("new", "sub/new2", src_dir_fd=dfd, dst_dir_fd=dfd))
        step("read cw2/sub/new2", lambda: read_file("cw2/sub/new2"))
        step("listdir the dir fd", lambda: sorted(os.listdir(dfd)))
        step("lstat cw", lambda: exists("cw"))
    finally:
        os.close(dfd)

    os.mkdir(p("gone"))
    dfd = os.open(p("gone"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        step("rmdir gone while a dir fd is open on it", lambda: os.rmdir(p("gone")))
        step("create relative to the removed dir's fd",
             lambda: os.close(os.open("x", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=dfd)))
        step("listdir the removed dir's fd", lambda: os.listdir(dfd))
    finally:
        os.close(dfd)



def t_nodes():
    section("hard links and open files: operations by the name left, by fd")
    make_file("hl-a", b"hard link content")
    os.link(p("hl-a"), p("hl-b"))
    read_file("hl-a")
    read_file("hl-b")
    step("unlink hl-a (hl-b stays), create a new hl-a", lambda: (os.unlink(p("hl-a")), make_file("hl-a", b"the new hl-a")) and None)
    step("chmod hl-b 0600", lambda: os.chmod(p("hl-b"), 0o600))
    step("truncate hl-b to 4", lambda: os.truncate(p("hl-b"), 4))
    step("setxattr hl-b user.who=b", lambda: os.setxattr(p("hl-b"), "user.who", b"b"))
    step("utime hl-b ns=(1800000000000000001, 1800000000000000002)", lambda: os.utime(p("hl-b"), ns=(1800000000000000001, 1800000000000000002)))
    step("chown hl-b 1234:5678", lambda: os.chown(p("hl-b"), 1234, 5678))

    def both():
        r = []
        for n in ("hl-a", "hl-b"):
            st = os.lstat(p(n))
            r.append("%s: %s %d:%d mtime_ns=%s %r xattrs=%s" % (
                n, st_brief(st), st.st_uid, st.st_gid,
                st.st_mtime_ns if n == "hl-b" else "-", read_file(n),
                sorted(x for x in os.listxattr(p(n)) if x.startswith("user."))))
        return r
    step("hl-a and hl-b", both)

    os.mkdir(p("hd1"))
    os.mkdir(p("hd2"))
    make_file("hd1/f", b"in hd1")
    os.link(p("hd1/f"), p("hd2/g"))
    read_file("hd1/f")
    read_file("hd2/g")
    step("rename dir hd1 -> hd1x, then unlink hd1x/f", lambda: (os.rename(p("hd1"), p("hd1x")), os.unlink(p("hd1x/f"))) and None)
    step("chmod hd2/g 0640, append, lstat, read", lambda: (os.chmod(p("hd2/g"), 0o640), (lambda fd: (os.write(fd, b"+"), os.close(fd)))(os.open(p("hd2/g"), os.O_WRONLY | os.O_APPEND))) and [lstat("hd2/g"), read_file("hd2/g")])

    def unlinked_fops():
        make_file("uf", b"unlinked file ops")
        fd = os.open(p("uf"), os.O_RDWR)
        r = []

        def do(desc, fn):
            try:
                v = fn()
                r.append("%s %s" % (desc, fmt(v)))
            except OSError as e:
                r.append("%s %s" % (desc, ename(e.errno)))
        try:
            os.unlink(p("uf"))
            do("fchmod 0600:", lambda: os.fchmod(fd, 0o600))
            do("fchown 1234:5678:", lambda: os.fchown(fd, 1234, 5678))
            do("futimens:", lambda: os.utime(fd, ns=(1900000000000000001, 1900000000000000002)))
            do("fstat:", lambda: (lambda st: "%04o %d:%d mtime_ns=%d nlink=%d" % (
                stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns, st.st_nlink))(os.fstat(fd)))
            do("fsetxattr:", lambda: os.setxattr(fd, "user.u", b"on unlinked"))
            do("fgetxattr:", lambda: os.getxattr(fd, "user.u"))
            do("flistxattr:", lambda: sorted(x for x in os.listxattr(fd) if x.startswith("user.")))
            do("fremovexattr:", lambda: os.removexattr(fd, "user.u"))
            do("posix_fallocate:", lambda: os.posix_fallocate(fd, 0, 100000))
            do("fdatasync:", lambda: os.fdatasync(fd))
            do("size:", lambda: os.fstat(fd).st_size)
            do("F_SETLK:", lambda: setlk(fd, fcntl.F_WRLCK))
            do("F_UNLCK:", lambda: setlk(fd, fcntl.F_UNLCK))
        finally:
            os.close(fd)
        return r
    step("f-ops on an open, unlinked file", unlinked_fops)

    def renamed_fops():
        make_file("rf", b"renamed file ops")
        fd = os.open(p("rf"), os.O_RDWR)
        try:
            os.rename(p("rf"), p("rf2"))
            os.fchmod(fd, 0o604)
            os.setxattr(fd, "user.r", b"after rename")
            os.utime(fd, ns=(2000000000000000001, 2000000000000000002))
        finally:
            os.close(fd)
        st = os.lstat(p("rf2"))
        return [st_brief(st), st.st_mtime_ns, os.getxattr(p("rf2"), "user.r")]
    step("f-ops on an open file after rename, lstat by the new name", renamed_fops)


def t_nonroot():
    section("as uid 1234 gid 5678 (a forked process on the mount side)")
    os.mkdir(p("nr"))
    os.chmod(p("nr"), 0o1777)
    make_file("nr/rootfile", b"root's")
    make_file("nr/rootsecret", b"secret")
    os.chmod(p("nr/rootsecret"), 0o600)

    def as_user():
        os.setgroups([])
        os.setresgid(5678, 5678, 5678)
        os.setresuid(1234, 1234, 1234)
        lines = []

        def do(desc, fn):
            try:
                v = fn()
                lines.append("%s\t%s" % (desc, fmt(v)))
            except OSError as e:
                lines.append("%s\t%s" % (desc, ename(e.errno)))

        def owner(rel):
            st = os.lstat(p(rel))
            return "%d:%d %04o" % (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
        do("create nr/mine", lambda: make_file("nr/mine", b"mine"))
        do("owner nr/mine", lambda: owner("nr/mine"))
        do("reopen nr/mine O_WRONLY|O_APPEND, write", lambda: (lambda fd: (os.write(fd, b"+more"), os.close(fd)))(os.open(p("nr/mine"), os.O_WRONLY | os.O_APPEND)) and None)
        do("read nr/mine", lambda: read_file("nr/mine"))
        do("chmod nr/mine 0600", lambda: os.chmod(p("nr/mine"), 0o600))
        do("utime nr/mine ns=(2100000000000000001, 2100000000000000002)", lambda: os.utime(p("nr/mine"), ns=(2100000000000000001, 2100000000000000002)))
        do("setxattr nr/mine user.mine", lambda: os.setxattr(p("nr/mine"), "user.mine", b"yes"))
        do("mkdir nr/mydir", lambda: os.mkdir(p("nr/mydir")))
        do("owner nr/mydir", lambda: owner("nr/mydir"))
        do("create nr/mydir/inner", lambda: make_file("nr/mydir/inner", b"inner"))
        do("symlink nr/mylink", lambda: os.symlink("mine", p("nr/mylink")))
        do("owner nr/mylink", lambda: owner("nr/mylink"))
        do("mkfifo nr/myfifo", lambda: os.mkfifo(p("nr/myfifo")))
        do("owner nr/myfifo", lambda: owner("nr/myfifo"))
        do("rename nr/mine -> nr/mine2", lambda: os.rename(p("nr/mine"), p("nr/mine2")))
        do("open root's 0644 nr/rootfile O_WRONLY", lambda: os.close(os.open(p("nr/rootfile"), os.O_WRONLY)))
        do("read root's 0600 nr/rootsecret", lambda: read_file("nr/rootsecret"))
        do("read root's 0644 nr/rootfile", lambda: read_file("nr/rootfile"))
        do("chmod root's nr/rootfile", lambda: os.chmod(p("nr/rootfile"), 0o666))
        do("chown nr/mine2 to 0:0", lambda: os.chown(p("nr/mine2"), 0, 0))
        do("utime root's nr/rootfile ns", lambda: os.utime(p("nr/rootfile"), ns=(1, 1)))
        do("unlink root's nr/rootfile in the sticky nr", lambda: os.unlink(p("nr/rootfile")))
        do("rename root's nr/rootfile in the sticky nr", lambda: os.rename(p("nr/rootfile"), p("nr/x")))
        do("create in the root-owned 0755 top dir", lambda: make_file("not-mine", b"x"))
        do("setxattr user.x on root's nr/rootfile", lambda: os.setxattr(p("nr/rootfile"), "user.x", b"x"))
        do("truncate root's nr/rootfile", lambda: os.truncate(p("nr/rootfile"), 0))
        return "\n".join(lines)
    for line in in_child(as_user).split("\n"):
        desc, _, res = line.partition("\t")
        out("uid 1234: " + desc, res)


# ------------------------------------------------------------ locks

def setlk(fd, typ, start=0, ln=0, cmd=fcntl.F_SETLK):
    fcntl.fcntl(fd, cmd, bytes(Flock(typ, os.SEEK_SET, start, ln, 0)))


def getlk(fd, typ, start=0, ln=0):
    r = Flock.from_buffer_copy(fcntl.fcntl(fd, fcntl.F_GETLK, bytes(Flock(typ, os.SEEK_SET, start, ln, 0))))
    if r.l_type == fcntl.F_UNLCK:
        return "F_UNLCK"
    return "%s start=%d len=%d" % (LOCK_NAMES.get(r.l_type, r.l_type), r.l_start, r.l_len)


def trylock(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            return "conflict"
        raise


def in_child(fn):
    """Runs fn() in a forked process; returns what it returned (a str)."""
    sys.stdout.flush()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            signal.alarm(20)
            res = fn()
        except OSError as e:
            res = ename(e.errno)
        except BaseException as e:
            res = "EXCEPTION %s" % type(e).__name__
        os.write(w, res.encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        b = os.read(r, 4096)
        if not b:
            break
        data += b
    os.close(r)
    os.waitpid(pid, 0)
    return data.decode()


def pod_try(rel, how, typ=fcntl.F_WRLCK, start=0, ln=0):
    """A pod-side process opens rel and tries a lock: posix, getlk or flock."""
    def f():
        fd = os.open(podp(rel), os.O_RDWR)
        try:
            if how == "posix":
                return trylock(lambda: setlk(fd, typ, start, ln))
            if how == "getlk":
                return getlk(fd, typ, start, ln)
            if how == "flock":
                return trylock(lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB))
            if how == "flock-sh":
                return trylock(lambda: fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB))
            raise ValueError(how)
        finally:
            os.close(fd)
    return in_child(f)


class PodHolder:
    """A pod-side process holding a lock on rel until release(), or for
    hold seconds. Before it unlocks it writes b"R" to its status pipe."""

    def __init__(self, rel, how, hold=None, typ=fcntl.F_WRLCK):
        sys.stdout.flush()
        self.st_r, st_w = os.pipe()
        ctl_r, self.ctl_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.st_r)
            os.close(self.ctl_w)
            signal.alarm(20)
            try:
                fd = os.open(podp(rel), os.O_RDWR)
                if how == "posix":
                    setlk(fd, typ)
                else:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.write(st_w, b"H")
                if hold is None:
                    os.read(ctl_r, 1)
                else:
                    time.sleep(hold)
                os.write(st_w, b"R")
                if how == "posix":
                    setlk(fd, fcntl.F_UNLCK)
                else:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            except OSError as e:
                os.write(st_w, b"E" + ename(e.errno).encode())
            os._exit(0)
        os.close(st_w)
        os.close(ctl_r)
        first = os.read(self.st_r, 64)
        self.state = "held" if first == b"H" else "pod could not lock: %s" % first.decode()

    def released_marker(self):
        """True if the holder has said it is about to unlock."""
        ready, _, _ = select.select([self.st_r], [], [], 0)
        return bool(ready) and os.read(self.st_r, 1) == b"R"

    def release(self):
        try:
            os.write(self.ctl_w, b"x")
        except OSError:
            pass
        self.wait()

    def wait(self):
        os.close(self.ctl_w)
        os.waitpid(self.pid, 0)
        os.close(self.st_r)


def t_locks():
    section("locks: fcntl F_SETLK/F_GETLK/F_SETLKW and flock, against a pod-side process")
    make_file("lk", b"lock me" * 100)
    fd = os.open(p("lk"), os.O_RDWR)
    try:
        step("F_SETLK F_WRLCK whole file", lambda: setlk(fd, fcntl.F_WRLCK))
        step("F_GETLK from this process (own locks do not conflict)", lambda: getlk(fd, fcntl.F_WRLCK))
        step("pod: F_SETLK F_WRLCK", lambda: pod_try("lk", "posix"))
        step("pod: F_SETLK F_RDLCK", lambda: pod_try("lk", "posix", fcntl.F_RDLCK))
        step("pod: F_GETLK F_WRLCK", lambda: pod_try("lk", "getlk"))
        step("F_SETLK F_UNLCK", lambda: setlk(fd, fcntl.F_UNLCK))
        step("pod: F_SETLK F_WRLCK after unlock", lambda: pod_try("lk", "posix"))
        step("pod: F_GETLK F_WRLCK after unlock", lambda: pod_try("lk", "getlk"))

        step("F_SETLK F_RDLCK whole file", lambda: setlk(fd, fcntl.F_RDLCK))
        step("pod: F_SETLK F_RDLCK (shared)", lambda: pod_try("lk", "posix", fcntl.F_RDLCK))
        step("pod: F_SETLK F_WRLCK", lambda: pod_try("lk", "posix"))
        step("pod: F_GETLK F_WRLCK", lambda: pod_try("lk", "getlk"))
        step("F_SETLK F_UNLCK", lambda: setlk(fd, fcntl.F_UNLCK))

        step("F_SETLK F_WRLCK bytes 0..99", lambda: setlk(fd, fcntl.F_WRLCK, 0, 100))
        step("pod: F_SETLK F_WRLCK bytes 100..199", lambda: pod_try("lk", "posix", fcntl.F_WRLCK, 100, 100))
        step("pod: F_SETLK F_WRLCK bytes 50..149", lambda: pod_try("lk", "posix", fcntl.F_WRLCK, 50, 100))
        step("pod: F_GETLK F_WRLCK bytes 50..149", lambda: pod_try("lk", "getlk", fcntl.F_WRLCK, 50, 100))
        step("F_SETLK F_UNLCK bytes 0..49", lambda: setlk(fd, fcntl.F_UNLCK, 0, 50))
        step("pod: F_GETLK F_WRLCK whole file", lambda: pod_try("lk", "getlk"))
        step("F_SETLK F_UNLCK whole file", lambda: setlk(fd, fcntl.F_UNLCK))

        # Closing any fd of the file drops this process's POSIX locks.
        step("F_SETLK F_WRLCK whole file", lambda: setlk(fd, fcntl.F_WRLCK))
        step("open and close a second fd of lk", lambda: os.close(os.open(p("lk"), os.O_RDONLY)))
        step("pod: F_SETLK F_WRLCK (the close dropped the lock)", lambda: pod_try("lk", "posix"))
    finally:
        os.close(fd)

    # The pod takes the lock first.
    fd = os.open(p("lk"), os.O_RDWR)
    try:
        h = PodHolder("lk", "posix")
        out("pod takes F_WRLCK and holds it", h.state)
        step("F_SETLK F_WRLCK while the pod holds it", lambda: trylock(lambda: setlk(fd, fcntl.F_WRLCK)))
        step("F_SETLK F_RDLCK while the pod holds it", lambda: trylock(lambda: setlk(fd, fcntl.F_RDLCK)))
        step("F_GETLK F_WRLCK", lambda: getlk(fd, fcntl.F_WRLCK))
        h.release()
        out("pod releases", "ok")
        step("F_SETLK F_WRLCK after the pod released", lambda: trylock(lambda: setlk(fd, fcntl.F_WRLCK)))
        step("F_SETLK F_UNLCK", lambda: setlk(fd, fcntl.F_UNLCK))

        # F_SETLKW waits for the pod's lock.
        h = PodHolder("lk", "posix", hold=0.5)
        out("pod takes F_WRLCK for 0.5 s", h.state)

        def setlkw():
            signal.alarm(10)
            try:
                setlk(fd, fcntl.F_WRLCK, cmd=fcntl.F_SETLKW)
            except Timeout:
                return "timed out after 10 s"
            finally:
                signal.alarm(0)
            return "waited ok" if h.released_marker() else "did not wait (got the lock while the pod held it)"
        step("F_SETLKW F_WRLCK", setlkw)
        h.wait()
        step("F_SETLK F_UNLCK", lambda: setlk(fd, fcntl.F_UNLCK))
    finally:
        os.close(fd)

    section("locks: more POSIX lock semantics")
    make_file("lk2", b"x" * 1000)

    def mount_child_try(rel, typ=fcntl.F_WRLCK):
        def f():
            fd = os.open(p(rel), os.O_RDWR)
            try:
                return trylock(lambda: setlk(fd, typ))
            finally:
                os.close(fd)
        return in_child(f)
    fd = os.open(p("lk2"), os.O_RDWR)
    try:
        step("F_SETLK F_WRLCK lk2", lambda: setlk(fd, fcntl.F_WRLCK))
        step("another process on the mount side: F_SETLK F_WRLCK", lambda: mount_child_try("lk2"))
        step("F_SETLK F_UNLCK", lambda: setlk(fd, fcntl.F_UNLCK))
    finally:
        os.close(fd)

    def child_locks_and_exits(how):
        def f():
            fd = os.open(p("lk2"), os.O_RDWR)
            if how == "posix":
                setlk(fd, fcntl.F_WRLCK)
            else:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os._exit(0)
        in_child(f)
        return pod_try("lk2", "posix" if how == "posix" else "flock")
    step("a mount-side process takes F_WRLCK and exits; pod: F_SETLK F_WRLCK",
         lambda: child_locks_and_exits("posix"))
    step("a mount-side process takes flock LOCK_EX and exits; pod: flock LOCK_EX|LOCK_NB",
         lambda: child_locks_and_exits("flock"))

    def close_then_pod(how, patience=0.0):
        # A pod-side process already running tries the lock as soon as
        # this one has closed its fd (20 rounds); with patience, again
        # until that many seconds have passed.
        sys.stdout.flush()
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(cmd_w)
            os.close(res_r)
            signal.alarm(30)
            while os.read(cmd_r, 1) == b"t":
                cfd = os.open(podp("lk2"), os.O_RDWR)
                until = time.monotonic() + patience
                while True:
                    try:
                        if how == "posix":
                            r = trylock(lambda: setlk(cfd, fcntl.F_WRLCK))
                        else:
                            r = trylock(lambda: fcntl.flock(cfd, fcntl.LOCK_EX | fcntl.LOCK_NB))
                    except OSError as e:
                        r = ename(e.errno)
                    if r != "conflict" or time.monotonic() >= until:
                        break
                    time.sleep(0.005)
                os.close(cfd)
                os.write(res_w, (r + "\n").encode().ljust(16))
            os._exit(0)
        os.close(cmd_r)
        os.close(res_w)
        results = {}
        try:
            for _ in range(20):
                fd = os.open(p("lk2"), os.O_RDWR)
                if how == "posix":
                    setlk(fd, fcntl.F_WRLCK)
                else:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.close(fd)
                os.write(cmd_w, b"t")
                r = os.read(res_r, 16).decode().strip()
                results[r] = results.get(r, 0) + 1
        finally:
            os.write(cmd_w, b"q")
            os.close(cmd_w)
            os.waitpid(pid, 0)
            os.close(res_r)
        return " ".join("%s x%d" % kv for kv in sorted(results.items()))
    step("20 x (F_SETLK F_WRLCK, close); pod at once: F_SETLK F_WRLCK", lambda: close_then_pod("posix"))
    known("20 x (flock LOCK_EX, close without LOCK_UN); pod at once: flock LOCK_EX|LOCK_NB", lambda: close_then_pod("flock"))
    step("20 x (flock LOCK_EX, close without LOCK_UN); pod within 1 s: flock LOCK_EX|LOCK_NB", lambda: close_then_pod("flock", 1.0))

    def wrong_mode():
        r = []
        fd = os.open(p("lk2"), os.O_RDONLY)
        try:
            try:
                setlk(fd, fcntl.F_WRLCK)
                r.append("ok")
            except OSError as e:
                r.append(ename(e.errno))
        finally:
            os.close(fd)
        fd = os.open(p("lk2"), os.O_WRONLY)
        try:
            try:
                setlk(fd, fcntl.F_RDLCK)
                r.append("ok")
            except OSError as e:
                r.append(ename(e.errno))
        finally:
            os.close(fd)
        return r
    step("F_WRLCK on an O_RDONLY fd, F_RDLCK on an O_WRONLY fd", wrong_mode)

    fd = os.open(p("lk2"), os.O_RDWR)
    try:
        step("F_SETLK F_RDLCK lk2", lambda: setlk(fd, fcntl.F_RDLCK))
        h = PodHolder("lk2", "posix", typ=fcntl.F_RDLCK)
        out("pod takes F_RDLCK and holds it", h.state)
        step("upgrade to F_WRLCK while the pod reads", lambda: trylock(lambda: setlk(fd, fcntl.F_WRLCK)))
        step("still F_RDLCK here: pod F_GETLK F_WRLCK", lambda: pod_try("lk2", "getlk"))
        h.release()
        out("pod releases", "ok")
        step("upgrade to F_WRLCK", lambda: trylock(lambda: setlk(fd, fcntl.F_WRLCK)))
        step("pod: F_GETLK F_RDLCK", lambda: pod_try("lk2", "getlk", fcntl.F_RDLCK))
        step("downgrade to F_RDLCK", lambda: setlk(fd, fcntl.F_RDLCK))
        step("pod: F_SETLK F_RDLCK", lambda: pod_try("lk2", "posix", fcntl.F_RDLCK))
        step("F_SETLK F_UNLCK", lambda: setlk(fd, fcntl.F_UNLCK))

        step("F_SETLK F_WRLCK bytes 0..99, then F_UNLCK 40..59", lambda: (setlk(fd, fcntl.F_WRLCK, 0, 100), setlk(fd, fcntl.F_UNLCK, 40, 20)) and None)
        step("pod: F_SETLK F_WRLCK 40..59", lambda: pod_try("lk2", "posix", fcntl.F_WRLCK, 40, 20))
        step("pod: F_SETLK F_WRLCK 30..39", lambda: pod_try("lk2", "posix", fcntl.F_WRLCK, 30, 10))
        step("pod: F_GETLK F_WRLCK 55..64", lambda: pod_try("lk2", "getlk", fcntl.F_WRLCK, 55, 10))
        step("F_SETLK F_UNLCK whole file", lambda: setlk(fd, fcntl.F_UNLCK))

        # A wait interrupted by a signal leaves no lock behind.
        h = PodHolder("lk2", "posix")
        out("pod takes F_WRLCK and holds it", h.state)

        def interrupted():
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            try:
                setlk(fd, fcntl.F_WRLCK, cmd=fcntl.F_SETLKW)
                return "got the lock while the pod held it"
            except Timeout:
                return "interrupted"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        step("F_SETLKW F_WRLCK, interrupted by SIGALRM after 0.3 s", interrupted)
        h.release()
        out("pod releases", "ok")
        time.sleep(0.5)
        step("pod: F_SETLK F_WRLCK 0.5 s later (no lock left by the interrupted wait)", lambda: pod_try("lk2", "posix"))
        step("pod: F_GETLK F_WRLCK", lambda: pod_try("lk2", "getlk"))

        # Deadlock: this process holds byte 0 and waits for byte 1, which
        # the pod holds while it waits for byte 0.
        step("F_SETLK F_WRLCK byte 0", lambda: setlk(fd, fcntl.F_WRLCK, 0, 1))
        sys.stdout.flush()
        st_r, st_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(st_r)
            signal.alarm(20)
            try:
                cfd = os.open(podp("lk2"), os.O_RDWR)
                setlk(cfd, fcntl.F_WRLCK, 1, 1)
                os.write(st_w, b"H")
                setlk(cfd, fcntl.F_WRLCK, 0, 1, cmd=fcntl.F_SETLKW)
                os.write(st_w, b"pod got byte 0")
            except OSError as e:
                os.write(st_w, ("pod: " + ename(e.errno)).encode())
            except Timeout:
                os.write(st_w, b"pod: timed out")
            os._exit(0)
        os.close(st_w)
        os.read(st_r, 1)
        nr_fcntl = {"x86_64": "72", "aarch64": "25"}.get(os.uname().machine)
        for _ in range(200):      # until the pod process sleeps in fcntl
            try:
                with open("/proc/%d/syscall" % pid) as f:
                    if nr_fcntl and f.read().split()[0] == nr_fcntl:
                        break
            except OSError:
                pass
            time.sleep(0.01)
        time.sleep(0.05)

        def deadlock():
            signal.setitimer(signal.ITIMER_REAL, 3)
            try:
                setlk(fd, fcntl.F_WRLCK, 1, 1, cmd=fcntl.F_SETLKW)
                return "got byte 1"
            except Timeout:
                return "no EDEADLK: still waiting after 3 s"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        known("F_SETLKW F_WRLCK byte 1 (a deadlock)", deadlock)
        step("F_SETLK F_UNLCK byte 0", lambda: setlk(fd, fcntl.F_UNLCK, 0, 1))
        res = b""
        while True:
            b = os.read(st_r, 100)
            if not b:
                break
            res += b
        os.close(st_r)
        os.waitpid(pid, 0)
        out("the pod's wait for byte 0", res.decode())
    finally:
        os.close(fd)

    section("locks: data written under a lock is seen by the next holder")
    make_file("lkd", b"A" * 4096)
    fd = os.open(p("lkd"), os.O_RDWR)
    try:
        step("read lkd (cached here)", lambda: short(read_fd(fd, 0)))

        def pod_writes():
            cfd = os.open(podp("lkd"), os.O_RDWR)
            try:
                setlk(cfd, fcntl.F_WRLCK, cmd=fcntl.F_SETLKW)
                os.pwrite(cfd, b"B" * 4096, 0)
                os.write(cfd, b"")
                os.pwrite(cfd, b"tail", 4096)
                setlk(cfd, fcntl.F_UNLCK)
                return "pod wrote B*4096 + tail under F_WRLCK"
            finally:
                os.close(cfd)
        step("pod: lock, overwrite, append, unlock", lambda: in_child(pod_writes))
        step("F_SETLKW F_WRLCK here", lambda: setlk(fd, fcntl.F_WRLCK, cmd=fcntl.F_SETLKW))
        step("fstat size under the lock", lambda: os.fstat(fd).st_size)
        step("pread 4100 under the lock", lambda: short(os.pread(fd, 4100, 0)) + (" (B*4096+tail)" if os.pread(fd, 4100, 0) == b"B" * 4096 + b"tail" else ""))
        step("pwrite C*4096 under the lock, unlock (no fsync, fd kept open)",
             lambda: (os.pwrite(fd, b"C" * 4096, 0), setlk(fd, fcntl.F_UNLCK)) and None)

        def pod_reads():
            cfd = os.open(podp("lkd"), os.O_RDWR)
            try:
                setlk(cfd, fcntl.F_RDLCK, cmd=fcntl.F_SETLKW)
                d = os.pread(cfd, 4100, 0)
                setlk(cfd, fcntl.F_UNLCK)
                return "C*4096+tail" if d == b"C" * 4096 + b"tail" else short(d)
            finally:
                os.close(cfd)
        step("pod: F_SETLKW F_RDLCK, read", lambda: in_child(pod_reads))
    finally:
        os.close(fd)

    section("locks: flock")
    make_file("fl", b"flock me")
    fd = os.open(p("fl"), os.O_RDWR)
    try:
        step("flock LOCK_EX", lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB))
        step("pod: flock LOCK_EX|LOCK_NB", lambda: pod_try("fl", "flock"))
        step("pod: flock LOCK_SH|LOCK_NB", lambda: pod_try("fl", "flock-sh"))

        def second_ofd():
            fd2 = os.open(p("fl"), os.O_RDWR)
            try:
                return trylock(lambda: fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB))
            finally:
                os.close(fd2)
        step("second open of fl here: flock LOCK_EX|LOCK_NB", second_ofd)
        step("flock LOCK_UN", lambda: fcntl.flock(fd, fcntl.LOCK_UN))
        step("pod: flock LOCK_EX|LOCK_NB after unlock", lambda: pod_try("fl", "flock"))
        step("second open of fl here: flock LOCK_EX|LOCK_NB after unlock", second_ofd)
        step("flock LOCK_SH", lambda: fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB))
        step("pod: flock LOCK_SH|LOCK_NB (shared)", lambda: pod_try("fl", "flock-sh"))
        step("pod: flock LOCK_EX|LOCK_NB", lambda: pod_try("fl", "flock"))
        step("flock LOCK_UN", lambda: fcntl.flock(fd, fcntl.LOCK_UN))

        h = PodHolder("fl", "flock")
        out("pod takes flock LOCK_EX and holds it", h.state)
        step("flock LOCK_EX|LOCK_NB while the pod holds it", lambda: trylock(lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)))
        h.release()
        out("pod releases", "ok")
        step("flock LOCK_EX|LOCK_NB after the pod released", lambda: trylock(lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)))
        step("flock LOCK_UN", lambda: fcntl.flock(fd, fcntl.LOCK_UN))

        h = PodHolder("fl", "flock", hold=0.5)
        out("pod takes flock LOCK_EX for 0.5 s", h.state)

        def flock_wait():
            signal.alarm(10)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except Timeout:
                return "timed out after 10 s"
            finally:
                signal.alarm(0)
            return "waited ok" if h.released_marker() else "did not wait (got the lock while the pod held it)"
        step("flock LOCK_EX (blocking)", flock_wait)
        h.wait()
        step("flock LOCK_UN", lambda: fcntl.flock(fd, fcntl.LOCK_UN))
    finally:
        os.close(fd)


def t_deep():
    # Last: a mount that cannot take it may drop its connection.
    section("a tree deeper than PATH_MAX (4096), walked by dir fds, as cd would")
    def deep():
        depth = 25
        names = ["D%02d" % i + "x" * 197 for i in range(depth)]
        os.mkdir(p("deep"))
        fds = [os.open(p("deep"), os.O_RDONLY | os.O_DIRECTORY)]
        res = []
        try:
            reached = 0
            for i, n in enumerate(names):
                try:
                    os.mkdir(n, dir_fd=fds[-1])
                    fds.append(os.open(n, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
                except OSError as e:
                    res.append("mkdir at depth %d: %s" % (i + 1, ename(e.errno)))
                    break
                reached = i + 1
            res.append("depth %d (%d path bytes below deep/)" % (reached, 201 * reached))
            bottom = fds[-1]

            def at_bottom(desc, fn):
                try:
                    r = fn()
                    res.append("%s: %s" % (desc, fmt(r)))
                except OSError as e:
                    res.append("%s: %s" % (desc, ename(e.errno)))
            def create():
                fd = os.open("file", os.O_RDWR | os.O_CREAT, 0o644, dir_fd=bottom)
                try:
                    os.write(fd, b"at the bottom")
                    return os.pread(fd, 100, 0)
                finally:
                    os.close(fd)
            at_bottom("create+write", create)
            at_bottom("stat", lambda: st_brief(os.stat("file", dir_fd=bottom)))
            at_bottom("rename", lambda: os.rename("file", "file2", src_dir_fd=bottom, dst_dir_fd=bottom))

            def reopen():
                fd = os.open("file2", os.O_RDONLY, dir_fd=bottom)
                try:
                    return os.read(fd, 100)
                finally:
                    os.close(fd)
            at_bottom("reopen+read", reopen)
            at_bottom("symlink", lambda: os.symlink("file2", "link", dir_fd=bottom))
            at_bottom("readlink", lambda: os.readlink("link", dir_fd=bottom))
            at_bottom("chmod", lambda: os.chmod("file2", 0o600, dir_fd=bottom))
            at_bottom("listdir", lambda: sorted(os.listdir(bottom)))
            at_bottom("unlink", lambda: (os.unlink("file2", dir_fd=bottom), os.unlink("link", dir_fd=bottom)) and None)
            errs = set()
            for i in range(len(fds) - 1, 0, -1):
                try:
                    os.rmdir(names[i - 1], dir_fd=fds[i - 1])
                except OSError as e:
                    errs.add(ename(e.errno))
            res.append("rmdir all the way up: %s" % (" ".join(sorted(errs)) or "ok"))
        finally:
            for fd in fds:
                os.close(fd)
        return res
    step("a tree 25 x 201 bytes deep by dir fds", deep)
    step("listdir deep", lambda: listdir("deep"))


# ------------------------------------------------------------ dump

def shorten(path):
    """Path components over 40 bytes as prefix~length~hash (keeps lines short)."""
    out_ = []
    for c in path.split("/"):
        if len(c.encode("utf-8", "surrogateescape")) > 40:
            h = hashlib.sha256(c.encode("utf-8", "surrogateescape")).hexdigest()[:8]
            c = "%s~%d~%s" % (c[:8], len(c.encode("utf-8", "surrogateescape")), h)
        out_.append(c)
    return "/".join(out_)


def dump(root):
    """Lines describing the tree under root, sorted by path."""
    lines = []
    first_of_inode = {}

    def entry(rel, path):
        st = os.lstat(path)
        fields = [shorten(rel), kind(st.st_mode), "%04o" % stat.S_IMODE(st.st_mode),
                  "nlink=%d" % st.st_nlink, "%d:%d" % (st.st_uid, st.st_gid)]
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                data = f.read()
            fields.append("size=%d" % st.st_size)
            if len(data) != st.st_size:
                fields.append("READ %d BYTES" % len(data))
            fields.append("sha256:" + hashlib.sha256(data).hexdigest()[:16])
        elif stat.S_ISLNK(st.st_mode):
            fields.append("size=%d" % st.st_size)
            fields.append("-> " + shorten(os.readlink(path)))
        elif not stat.S_ISDIR(st.st_mode):
            fields.append("size=%d" % st.st_size)
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            if key in first_of_inode:
                fields.append("same-inode-as " + shorten(first_of_inode[key]))
            else:
                first_of_inode[key] = rel
        try:
            names = sorted(n for n in os.listxattr(path, follow_symlinks=False) if n.startswith("user."))
        except OSError as e:
            names = ["(listxattr %s)" % ename(e.errno)]
        for n in names:
            if n.startswith("("):
                fields.append(n)
                continue
            try:
                fields.append("%s=%s" % (n, short(os.getxattr(path, n, follow_symlinks=False))))
            except OSError as e:
                fields.append("%s=(%s)" % (n, ename(e.errno)))
        lines.append(" ".join(fields))
        return st

    def walk(rel, path):
        try:
            ents = {e.name: e for e in os.scandir(path)}
        except OSError as e:
            lines.append("%s (scandir %s)" % (shorten(rel), ename(e.errno)))
            return
        for name in sorted(ents):
            r = name if rel == "." else rel + "/" + name
            sub = os.path.join(path, name)
            try:
                st = entry(r, sub)
            except OSError as e:
                lines.append("%s (%s)" % (shorten(r), ename(e.errno)))
                continue
            # The type readdir gave (d_type) agrees with lstat.
            d = ents[name]
            dt = ("dir" if d.is_dir(follow_symlinks=False) else
                  "symlink" if d.is_symlink() else
                  "file" if d.is_file(follow_symlinks=False) else "other")
            want = kind(st.st_mode)
            if dt != (want if want in ("dir", "symlink", "file") else "other"):
                lines.append("%s readdir type %s, lstat %s" % (shorten(r), dt, want))
            if stat.S_ISDIR(st.st_mode):
                walk(r, sub)

    try:
        entry(".", root)
    except OSError as e:
        lines.append(". (%s)" % ename(e.errno))
        return lines
    walk(".", root)
    return lines


def print_dump(root):
    for line in dump(root):
        print(line)
    sys.stdout.flush()


# ------------------------------------------------------------ main

def main(argv):
    global W, POD
    args = argv[1:]
    pod = None
    if args[:1] == ["--dump"] and len(args) == 2:
        print_dump(os.path.abspath(args[1]))
        return 0
    if args[:1] == ["--pod-root"] and len(args) >= 2:
        pod = args[1]
        args = args[2:]
    if len(args) != 1:
        sys.stderr.write("usage: semantic.py [--pod-root DIR] WORKDIR\n"
                         "       semantic.py --dump DIR\n")
        return 2
    W = os.path.abspath(args[0])
    POD = os.path.abspath(pod) if pod else W
    if os.listdir(W):
        sys.stderr.write("semantic.py: %s is not empty\n" % W)
        return 2
    os.umask(0o022)
    for t in (t_create_write, t_truncate_sparse, t_more_io, t_mmap_coherence,
              t_unlink, t_rename, t_names_paths, t_special, t_dirs_links, t_attrs,
              t_xattr, t_open_unlinked, t_nodes, t_many, t_concurrent,
              t_nonroot, t_locks, "dump", t_deep):
        if t == "dump":
            section("the tree left behind")
            print_dump(W)
            continue
        try:
            t()
        except OSError as e:
            out("%s ABORTED" % t.__name__, ename(e.errno) if e.errno else scrub(str(e)))
        except Exception as e:
            out("%s ABORTED" % t.__name__, "EXCEPTION %s: %s" % (type(e).__name__, scrub(str(e))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
