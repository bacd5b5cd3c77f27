"""End to end, as micrograd's demo: a small MLP learns two moons with SGD and with Adam.

The bound: at least 95% accuracy on 200 held-out points after 40 epochs (a linear model, the
baseline the test also trains, stays below 90%: the moons are not linearly separable).
"""
import pytest

import minigrad as mg
import minigrad.nn.functional as F


def _train(hidden, optimizer, epochs=40, seed=0):
    X, y = mg.data.make_moons(n_samples=600, noise=0.1, random_state=seed)
    X_train, y_train, X_test, y_test = X[:400], y[:400], X[400:], y[400:]
    mg.manual_seed(seed)
    layers = [mg.nn.Linear(2, 2)] if not hidden else [
        mg.nn.Linear(2, hidden), mg.nn.ReLU(), mg.nn.Linear(hidden, hidden), mg.nn.ReLU(),
        mg.nn.Linear(hidden, 2)]
    model = mg.nn.Sequential(*layers)
    opt = (mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if optimizer == "SGD"
           else mg.optim.Adam(model.parameters(), lr=0.01))
    loader = mg.data.DataLoader(mg.data.TensorDataset(X_train, y_train), batch_size=32,
                                shuffle=True)
    first_loss = None
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            first_loss = loss.item() if first_loss is None else first_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    with mg.no_grad():
        predicted = model(mg.tensor(X_test)).numpy().argmax(axis=1)
    return float((predicted == y_test).mean()), first_loss, loss.item()


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_mlp_learns_two_moons(optimizer):
    accuracy, first_loss, last_loss = _train(hidden=16, optimizer=optimizer)
    assert accuracy >= 0.95, f"{optimizer}: held-out accuracy {accuracy:.3f} < 0.95"
    assert last_loss < first_loss / 5


def test_a_linear_model_cannot_separate_the_moons():
    accuracy, _, _ = _train(hidden=0, optimizer="Adam")
    assert accuracy < 0.90, f"a straight line reached {accuracy:.3f}: the task is too easy"


def test_training_is_repeatable_with_one_seed():
    assert _train(hidden=8, optimizer="Adam", epochs=2) == _train(hidden=8, optimizer="Adam", epochs=2)
