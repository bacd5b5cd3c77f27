"""The grader: every untouched stub is "not started", every reference solution passes, and a
planted mistake in each exercise fails with a message that names it."""
import difflib
import re

import numpy as np
import pytest

from lessons.exercises.checks import EXERCISES
from lessons.exercises.compare import CheckFailed, expect_close
from lessons.exercises.grader import (NOT_STARTED, PASSED, exercise_file, find_exercise,
                                      format_report, format_table, grade)
from lessons.cli import main

IDS = [e.id for e in EXERCISES]


def test_at_least_ten_exercises_each_with_stub_and_solution():
    assert len(EXERCISES) >= 10
    for exercise in EXERCISES:
        stub, solution = exercise_file(exercise), exercise_file(exercise, solution=True)
        assert stub.is_file() and solution.is_file(), exercise.name
        text = stub.read_text(encoding="utf-8")
        assert "raise NotImplementedError" in text and "python -m lessons check" in text
        assert "raise NotImplementedError" not in solution.read_text(encoding="utf-8")


@pytest.mark.parametrize("exercise_id", IDS)
def test_untouched_stub_is_not_started(exercise_id):
    report = grade(exercise_id, seed=0)
    assert report.status == NOT_STARTED
    assert all(part.status == NOT_STARTED for part in report.parts)
    assert "not started yet" in format_report(report)


@pytest.mark.parametrize("exercise_id", IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_reference_solution_passes(exercise_id, seed):
    report = grade(exercise_id, solution=True, seed=seed)
    assert report.status == PASSED, format_report(report)


# (exercise, text in the solution, the planted mistake, words the message must contain)
PLANTED = [
    ("ex01", "return unbroadcast(grad * b, np.shape(a)), unbroadcast(grad * a, np.shape(b))",
     "return grad * b, grad * a",
     ["Mul.backward", "the gradient for b", "summed over the broadcast axes"]),
    ("ex01", "db = -grad * a / (b * b)", "db = grad * a / (b * b)",
     ["Div.backward", "the minus sign is missing"]),
    ("ex01", "db = grad * y * np.log(a)", "db = grad * y", ["Pow.backward", "log a"]),
    ("ex02", "(grad * y).sum(axis=-1, keepdims=True)", "grad.sum(axis=-1, keepdims=True)",
     ["Σ grad instead of Σ grad ⊙ y", "worst at index"]),
    ("ex02", "(grad * y).sum(axis=-1, keepdims=True)", "(grad * y).sum(axis=0, keepdims=True)",
     ["over axis 0 instead of the last axis"]),
    ("ex03", "dlogits = (np.exp(log_probs) - np.eye(c)[target]) / m",
     "dlogits = np.exp(log_probs) - np.eye(c)[target]", ["division by M is missing"]),
    ("ex04", "\n              - x_hat * (d_xhat * x_hat).mean(axis=-1, keepdims=True)) / sigma",
     ") / sigma", ["the gradient for x", "x̂ ⊙ mean(dx̂ ⊙ x̂) term is missing"]),
    ("ex04", "(grad * x_hat).sum(axis=batch)", "grad * x_hat",
     ["the gradient for weight", "has shape (3, 5), expected (5,)",
      "summed over the broadcast axes", "your values would be right"]),
    ("ex05", "pe[:, 0::2] = np.sin(angle)\n    pe[:, 1::2] = np.cos(angle)",
     "pe[:, 0::2] = np.cos(angle)\n    pe[:, 1::2] = np.sin(angle)", ["sin and cos are swapped"]),
    ("ex05", "pos = np.arange(max_len)[:, None]", "pos = np.arange(1, max_len + 1)[:, None]",
     ["positions count from 1"]),
    ("ex06", "scores = q @ k.transpose(-2, -1) / math.sqrt(d)", "scores = q @ k.transpose(-2, -1)",
     ["not divided by √D"]),
    ("ex06", "np.triu(np.ones((t, t), dtype=bool), k=1)", "np.tril(np.ones((t, t), dtype=bool), k=-1)",
     ["causal=True", "the wrong triangle"]),
    ("ex06", "np.triu(np.ones((t, t), dtype=bool), k=1)", "np.triu(np.ones((t, t), dtype=bool), k=0)",
     ["contains nan", "every key of some query is masked"]),
    ("ex06", "return weights @ v", "return mg.tensor((weights @ v).numpy())",
     ["not connected to the graph"]),
    ("ex07", "x.reshape(b, t, n_head, c // n_head).transpose(1, 2)",
     "x.reshape(b, n_head, t, c // n_head)", ["split_heads", "without the transpose"]),
    ("ex07", "y.transpose(1, 2).reshape(b, t, h * d)", "y.reshape(b, t, h * d)",
     ["merge_heads", "without the transpose"]),
    ("ex08", "m_hat = m / (1 - beta1 ** t)\n    v_hat = v / (1 - beta2 ** t)",
     "m_hat = m\n    v_hat = v", ["no bias correction"]),
    ("ex08", "(1 - beta2) * grad * grad", "(1 - beta2) * grad", ["v is built from g, not from g²"]),
    ("ex08", "m_hat = m / (1 - beta1 ** t)", "m_hat = m / (1 - beta1 ** (t - 1))",
     ["inf", "division by zero"]),
    ("ex09", "sum((hyp & ngrams(reference)).values())",
     "sum(c for g, c in hyp.items() if g in ngrams(reference))", ["not clipped"]),
    ("ex09", "sum(hyp.values())", "len(hypothesis) - n", ["your total is off by one"]),
    ("ex09", "math.exp(1 - r / c)", "math.exp(1 - c / r)", ["r and c are swapped"]),
    ("ex10", "np.add.at(d_weight, idx, grad)", "d_weight[idx] += grad",
     ["dW[idx] += grad", "keep only one contribution"]),
    ("ex11", "np.add.at(counts, (tokens[:-1], tokens[1:]), 1)",
     "np.add.at(counts, (tokens[:-2], tokens[1:-1]), 1)", ["the last pair"]),
    ("ex11", "+ alpha * vocab_size)", "+ alpha)", ["sums to", "not 1"]),
    ("ex11", "float(np.exp(-log_p.mean()))", "float(np.exp(-log_p.sum() / len(tokens)))",
     ["N tokens instead of N − 1"]),
    ("ex12", "return grad * (cdf + x * pdf)", "return grad * cdf", ["x φ(x) term is missing"]),
]


def _planted(tmp_path, exercise_id, old, new):
    source = exercise_file(find_exercise(exercise_id), solution=True).read_text(encoding="utf-8")
    assert old in source, f"the planted mistake no longer fits the solution: {old!r}"
    path = tmp_path / f"{exercise_id}_planted.py"
    path.write_text(source.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize("exercise_id, old, new, words", PLANTED,
                         ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_fails_with_a_message_naming_it(tmp_path, exercise_id, old, new, words):
    report = grade(exercise_id, path=_planted(tmp_path, exercise_id, old, new), seed=3)
    text = format_report(report)
    assert report.status != PASSED, text
    for word in words:
        assert word in text, f"{word!r} missing from:\n{text}"
    assert "hint:" in text


def test_every_exercise_has_a_planted_mistake():
    assert {p[0] for p in PLANTED} == set(IDS)


def test_an_exception_in_student_code_names_the_line(tmp_path):
    path = _planted(tmp_path, "ex02", "(y,) = ctx.saved_tensors",
                    "(y,) = ctx.saved_tensors\n        1 / 0")
    text = format_report(grade("ex02", path=path, seed=0))
    line = path.read_text().splitlines().index("        1 / 0") + 1
    assert "ZeroDivisionError" in text and f"line {line}" in text and "1 / 0" in text
    assert "Traceback" not in text


def test_a_broadcasting_error_gets_a_tip(tmp_path):
    path = _planted(tmp_path, "ex02", "(grad * y).sum(axis=-1, keepdims=True)",
                    "(grad * y).sum(axis=-1)")
    text = format_report(grade("ex02", path=path, seed=0))
    assert "ValueError" in text and "keepdims=True" in text


def test_a_syntax_error_is_reported_not_raised(tmp_path):
    path = _planted(tmp_path, "ex05", "return pe", "return pe)")
    text = format_report(grade("ex05", path=path, seed=0))
    assert "could not import your file" in text and "SyntaxError" in text and "line" in text


def test_a_renamed_function_is_named(tmp_path):
    path = _planted(tmp_path, "ex09", "def bleu(", "def my_bleu(")
    report = grade("ex09", path=path, seed=0)
    assert [p.status for p in report.parts] == [PASSED, PASSED, "failed"]
    assert "your file has no `bleu`" in format_report(report)


def test_check_command_exit_status_and_table(capsys, tmp_path):
    assert main(["check", "ex05", "--solution", "--seed", "0"]) == 0
    assert main(["check", "ex05"]) == 1
    assert "not started yet" in capsys.readouterr().out
    bad = _planted(tmp_path, "ex05", "pe[:, 1::2] = np.cos(angle)", "pe[:, 1::2] = np.sin(angle)")
    assert main(["check", "ex05", "--file", str(bad)]) == 1
    assert main(["check", "ex99"]) == 2
    assert "available: ex01" in capsys.readouterr().err
    table = format_table([grade(i, solution=True, seed=0) for i in ("ex05", "ex09")])
    assert "ex05" in table and "3/3" in table and "2 of 2 exercises pass" in table


@pytest.mark.parametrize("mistake, words", [
    (lambda e: e.T, "the transpose of the expected one"),
    (lambda e: 0.5 * e, "0.5 (= 1/2) × the expected one"),
    (lambda e: -e, "the wrong sign everywhere"),
    (lambda e: np.roll(e, 1, axis=0), "shifted one position later along axis 0"),
    (lambda e: e[:, ::-1].copy(), "the right numbers in the wrong places"),
    (lambda e: np.zeros_like(e), "all zeros"),
    (lambda e: np.where(e > 0, e, np.nan), "contains nan"),
    (lambda e: e.reshape(2, 8), "the same number of elements in another shape"),
    (lambda e: None, "is None"),
])
def test_generic_diagnoses_of_a_wrong_array(mistake, words):
    expected = np.random.default_rng(0).uniform(0.5, 2.0, size=(4, 4)) * np.array([1, -1, 1, -1])
    with pytest.raises(CheckFailed) as failure:
        expect_close("dx", mistake(expected), expected, case="x (4, 4)", hint="try harder")
    assert words in str(failure.value) and str(failure.value).startswith("with x (4, 4):")
    assert failure.value.hint in ("try harder", "end the function with `return ...`")


def test_a_gradient_left_at_the_broadcast_shape_is_recognised():
    full = np.arange(1.0, 7.0).reshape(2, 3)
    with pytest.raises(CheckFailed, match="summed over the broadcast axes back to \\(3,\\).*"
                                          "would be right"):
        expect_close("db", full, full.sum(axis=0), out_shape=(2, 3))
    expect_close("db", full.sum(axis=0), full.sum(axis=0), out_shape=(2, 3))


STUB_ONLY = re.compile(r'^"""Exercise \d\d — |^\s*python -m lessons check ex\d\d$|'
                       r"^\s*# Your code here, in place of the line below\.$|"
                       r"^\s*raise NotImplementedError\(")


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.id for e in EXERCISES])
def test_stub_and_solution_differ_only_where_the_student_writes(exercise):
    """Stub and solution are kept by hand: the task, the given code and the signatures must agree."""
    stub = exercise_file(exercise).read_text(encoding="utf-8").splitlines()
    solution = exercise_file(exercise, solution=True).read_text(encoding="utf-8").splitlines()
    matcher = difflib.SequenceMatcher(a=stub, b=solution, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        stray = [line for line in stub[i1:i2] if not STUB_ONLY.search(line)]
        assert not stray and (tag != "delete" or i2 - i1 == 1), (
            f"{exercise.name}: the stub (lines {i1 + 1}-{i2}) and the solution (lines "
            f"{j1 + 1}-{j2}) differ outside the student's part: {stray or stub[i1:i2]}")
