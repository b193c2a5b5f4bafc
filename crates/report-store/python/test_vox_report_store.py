"""Unit tests of the Python helper (run: python3 -m unittest discover -s crates/report-store/python)."""

import fcntl
import json
import os
import shutil
import tempfile
import unittest

import vox_report_store as vrs


class AppendTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vox-py-helper-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def index(self):
        with open(os.path.join(self.dir, "index.json"), encoding="utf-8") as f:
            return json.load(f)

    def test_first_report_gets_number_one_with_file_and_legacy_layout(self):
        entry = vrs.append_report(self.dir, 42, "Анализ встречи", "текст", username="alice", search_type="deep")
        self.assertEqual(entry["report_number"], 1)
        with open(os.path.join(self.dir, entry["file_path"]), encoding="utf-8") as f:
            self.assertEqual(f.read(), "текст")
        with open(os.path.join(self.dir, "index.json"), encoding="utf-8") as f:
            text = f.read()
        self.assertIn('  {\n    "file_path"', text, "indent=2")
        self.assertIn("Анализ встречи", text, "ensure_ascii=False")
        self.assertEqual(list(self.index()[0].keys())[:3], ["file_path", "user_id", "username"])
        self.assertEqual(self.index()[0]["size_bytes"], len("текст".encode("utf-8")))

    def test_numbers_go_above_the_index_the_counter_and_a_pending_journal(self):
        vrs.append_report(self.dir, 1, "a", "x")
        with open(os.path.join(self.dir, ".vox-counters.json"), "w") as f:
            json.dump({"1": 7}, f)
        self.assertEqual(vrs.append_report(self.dir, 1, "b", "x")["report_number"], 7, "a deleted 6 is never reused")
        journal = {"version": 1, "intent": {"save": {"user_id": 1, "report_number": 12,
                                                     "file_path": "user_1/x.txt", "entry": {}}}}
        with open(os.path.join(self.dir, ".vox-journal.json"), "w") as f:
            json.dump(journal, f)
        self.assertEqual(vrs.append_report(self.dir, 1, "c", "x")["report_number"], 13)
        self.assertEqual(vrs.append_report(self.dir, 2, "other user", "x")["report_number"], 1)

    def test_a_retried_job_is_stored_once(self):
        first = vrs.append_report(self.dir, 5, "a", "x", job_id="job-1")
        again = vrs.append_report(self.dir, 5, "a", "x", job_id="job-1")
        self.assertEqual(first, again)
        self.assertEqual(len(self.index()), 1)

    def test_same_second_reports_get_distinct_files(self):
        paths = {vrs.append_report(self.dir, 3, "t%d" % i, "x")["file_path"] for i in range(3)}
        self.assertEqual(len(paths), 3)

    def test_the_writers_generation_is_bumped(self):
        vrs.append_report(self.dir, 1, "a", "x")
        vrs.append_report(self.dir, 1, "b", "x")
        with open(os.path.join(self.dir, ".vox-index.lock")) as f:
            self.assertEqual(int(f.read().strip()), 2)

    def test_a_held_lock_makes_it_wait_then_give_up(self):
        fd = os.open(os.path.join(self.dir, ".vox-index.lock"), os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            with self.assertRaises(vrs.Busy):
                vrs.append_report(self.dir, 1, "a", "x", timeout=0.2)
        finally:
            os.close(fd)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "index.json")), "nothing written")

    def test_a_corrupt_index_is_refused_untouched(self):
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            f.write("{not json")
        with self.assertRaises(vrs.Corrupt):
            vrs.append_report(self.dir, 1, "a", "x")
        with open(os.path.join(self.dir, "index.json")) as f:
            self.assertEqual(f.read(), "{not json")

    def test_the_command_prints_the_entry(self):
        body = os.path.join(self.dir, "body.txt")
        with open(body, "w") as f:
            f.write("report")
        import io
        import contextlib
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = vrs.main(["append", self.dir, "9", "Заголовок", body, "--job-id", "j"])
        self.assertEqual(code, 0)
        self.assertEqual(json.loads(out.getvalue())["question"], "Заголовок")


if __name__ == "__main__":
    unittest.main()
