"""The run folder's files: metrics survive a write cut off mid-line; nothing half-written."""
import json
import os

from transformer.runs import Run


def test_a_metrics_line_cut_mid_write_is_skipped(tmp_path):
    run = Run(tmp_path)
    run.log({"step": 1, "loss": 2.5})
    run.log({"step": 2, "loss": 2.0})
    with open(run.file("metrics.jsonl"), "a", encoding="utf-8") as f:
        f.write('{"step": 3, "lo')                    # killed while appending
    assert [r["step"] for r in run.metrics()] == [1, 2]
    run.truncate_metrics(2)                           # a resumed run drops the cut line
    run.log({"step": 3, "loss": 1.5})
    assert [r["step"] for r in run.metrics()] == [1, 2, 3]


def test_config_summary_and_truncation_leave_no_temporary_files(tmp_path):
    run = Run(tmp_path)
    run.write_config({"lr": 1e-3, "corpus": "人民日报"})
    for step in range(1, 5):
        run.log({"step": step, "loss": 1.0 / step})
    run.truncate_metrics(2)
    run.summarize("title", ["a line"])
    assert json.loads(open(run.file("config.json"), encoding="utf-8").read())["corpus"] == "人民日报"
    assert [r["step"] for r in run.metrics()] == [1, 2]
    assert sorted(os.listdir(tmp_path)) == ["config.json", "metrics.jsonl", "plots", "summary.md"]
