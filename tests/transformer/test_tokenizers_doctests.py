"""The tokenizers' ``>>>`` examples run here too: setup.cfg's ``testpaths`` (tests, minigrad)
does not reach ``transformer/``, so ``pytest --doctest-modules`` alone would not collect them."""
import doctest
import importlib

import pytest

MODULES = ["base", "char", "bpe", "bert_basic", "wordpiece"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"transformer.tokenizers.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module.__name__} has no >>> examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
