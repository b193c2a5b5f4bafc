"""Append a report to a vox-host reports directory from Python, safely.

The legacy VoxPersona bot and vox-host share ``index.json``. vox-host writes
it under an advisory lock (``.vox-index.lock``, flock) and replaces files
atomically; this helper does the same, so neither side loses the other's
writes. Standard library only; Linux/Unix (``fcntl``).

    from vox_report_store import append_report
    report = append_report("/srv/reports", user_id=42, username="alice",
                           title="Анализ встречи", content="...текст...",
                           search_type="deep", tokens=1500, job_id="job-7f3a")
    print(report["report_number"], report["file_path"])

The contract (plugins/my-reports/README.md, "Sharing the directory"):

* take an exclusive ``fcntl.flock`` on ``<dir>/.vox-index.lock`` for the
  whole read-modify-write (waiting at most ``timeout`` seconds);
* give the user the number above their highest entry, their counter in
  ``.vox-counters.json`` and a save the journal ``.vox-journal.json`` holds
  (numbers are never reused), and raise the counter before the entry is
  written;
* write every file as temp file -> fsync -> rename -> fsync of the folder;
  ``index.json`` keeps VoxPersona's layout (``indent=2``,
  ``ensure_ascii=False``), entries and their key order as they were;
* bump the writers' generation in the lock file, so vox-host's cache
  reloads;
* a ``job_id`` already stored for the user returns that report instead of a
  second one (a retried save).

Run as a command: ``python3 vox_report_store.py append DIR USER TITLE FILE
[--username U] [--search-type fast|deep] [--tokens N] [--job-id J]``; prints
the stored entry as JSON.
"""

import argparse
import datetime
import errno
import fcntl
import json
import os
import sys
import time

INDEX = "index.json"
COUNTERS = ".vox-counters.json"
JOURNAL = ".vox-journal.json"
LOCK = ".vox-index.lock"


class Busy(Exception):
    """The lock stayed taken for the whole timeout: try again later."""


class Corrupt(Exception):
    """A file the helper must read is not what vox-host writes; nothing was changed."""


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, data):
    """Replaces ``path`` with ``data`` (bytes): readers see the old or the new file."""
    path = os.path.realpath(path)
    folder = os.path.dirname(path)
    temp = os.path.join(folder, ".%s.vox-tmp.py%d.%d" % (os.path.basename(path), os.getpid(), time.monotonic_ns()))
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            os.fchmod(fd, os.stat(path).st_mode & 0o7777)
        except FileNotFoundError:
            pass
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    os.close(fd)
    try:
        os.rename(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
    _fsync_dir(folder)


class _Lock:
    def __init__(self, directory, timeout):
        self.path = os.path.join(directory, LOCK)
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        pause = 0.001
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
            if time.monotonic() >= deadline:
                os.close(self.fd)
                raise Busy("%s stayed locked for %.1f s" % (self.path, self.timeout))
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def bump_generation(self):
        raw = os.pread(self.fd, 32, 0).decode("ascii", "replace").strip()
        current = int(raw) if raw.isdigit() else 0
        os.pwrite(self.fd, ("%020d\n" % ((current + 1) % (1 << 64))).encode("ascii"), 0)

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _read_json(path, default):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return default
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as e:
        raise Corrupt("%s is not JSON (%s); fix or move it, nothing was changed" % (path, e))


def _number(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def append_report(directory, user_id, title, content, username=None, search_type="fast", tokens=0,
                  job_id=None, timestamp=None, timeout=10.0):
    """Stores one report; returns its index entry (a dict). See the module text."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    user_id = int(user_id)
    os.makedirs(directory, exist_ok=True)
    with _Lock(directory, timeout) as lock:
        index = _read_json(os.path.join(directory, INDEX), [])
        if not isinstance(index, list):
            raise Corrupt("%s is not a JSON array; nothing was changed" % os.path.join(directory, INDEX))
        mine = [e for e in index if isinstance(e, dict) and e.get("user_id") == user_id]
        if job_id is not None:
            for entry in mine:
                if entry.get("job_id") == job_id:
                    return entry
        counters = _read_json(os.path.join(directory, COUNTERS), {})
        if not isinstance(counters, dict):
            raise Corrupt("%s is not a JSON object; nothing was changed" % os.path.join(directory, COUNTERS))
        taken = [_number(e.get("report_number")) or 0 for e in mine]
        journal = _read_json(os.path.join(directory, JOURNAL), None)
        pending = (journal or {}).get("intent", {}) if isinstance(journal, dict) else {}
        for intent in pending.values() if isinstance(pending, dict) else []:
            if isinstance(intent, dict) and intent.get("user_id") == user_id:
                taken.append(_number(intent.get("report_number")) or 0)
        number = max([counters.get(str(user_id), 0) if isinstance(counters.get(str(user_id), 0), int) else 0]
                     + [n + 1 for n in taken] + [1])
        when = timestamp or datetime.datetime.now().replace(microsecond=0)
        user_dir = os.path.join(directory, "user_%d" % user_id)
        os.makedirs(user_dir, exist_ok=True)
        stem = "user_%d/voxpersona_%s" % (user_id, when.strftime("%Y%m%d_%H%M%S"))
        paths = {e.get("file_path") for e in mine}
        attempt = 1
        while True:
            rel = stem + (".txt" if attempt == 1 else "_%d.txt" % attempt)
            if rel not in paths and not os.path.lexists(os.path.join(directory, rel)):
                break
            attempt += 1
        counters[str(user_id)] = number + 1
        write_atomic(os.path.join(directory, COUNTERS), (json.dumps(counters) + "\n").encode("utf-8"))
        write_atomic(os.path.join(directory, rel), content)
        entry = {
            "file_path": rel,
            "user_id": user_id,
            "username": username,
            "timestamp": when.isoformat(),
            "question": title,
            "size_bytes": len(content),
            "tokens": int(tokens),
            "search_type": search_type,
            "report_number": number,
        }
        if job_id is not None:
            entry["job_id"] = job_id
        index.append(entry)
        text = json.dumps(index, indent=2, ensure_ascii=False)
        write_atomic(os.path.join(directory, INDEX), text.encode("utf-8"))
        lock.bump_generation()
        return entry


def main(argv=None):
    parser = argparse.ArgumentParser(description="Append a report to a vox-host reports directory.")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("append", help="store one report")
    add.add_argument("directory")
    add.add_argument("user_id", type=int)
    add.add_argument("title")
    add.add_argument("file", help="the report text ('-' reads stdin)")
    add.add_argument("--username")
    add.add_argument("--search-type", default="fast", choices=["fast", "deep"])
    add.add_argument("--tokens", type=int, default=0)
    add.add_argument("--job-id")
    args = parser.parse_args(argv)
    content = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    try:
        entry = append_report(args.directory, args.user_id, args.title, content, username=args.username,
                              search_type=args.search_type, tokens=args.tokens, job_id=args.job_id)
    except (Busy, Corrupt) as e:
        print("error: %s" % e, file=sys.stderr)
        return 75 if isinstance(e, Busy) else 65
    print(json.dumps(entry, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
