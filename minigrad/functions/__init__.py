"""Every op of minigrad, one ``Function`` each, grouped by kind."""
from minigrad.functions import elementwise, linalg, nn_ops, reduction, shape
from minigrad.functions.elementwise import (abs, add, clamp, div, exp, log, masked_fill, mul,
                                            neg, pow, relu, sigmoid, sqrt, sub, tanh, where)
from minigrad.functions.linalg import matmul
from minigrad.functions.nn_ops import log_softmax, softmax
from minigrad.functions.reduction import logsumexp, max, mean, min, sum, var
from minigrad.functions.shape import (cat, chunk, expand, flatten, permute, reshape, split,
                                      squeeze, stack, transpose, unsqueeze, view)

__all__ = ["elementwise", "linalg", "nn_ops", "reduction", "shape",
           "abs", "add", "clamp", "div", "exp", "log", "masked_fill", "mul", "neg", "pow", "relu",
           "sigmoid", "sqrt", "sub", "tanh", "where", "matmul", "log_softmax", "softmax",
           "logsumexp", "max", "mean", "min", "sum", "var", "cat", "chunk", "expand", "flatten",
           "permute", "reshape", "split", "squeeze", "stack", "transpose", "unsqueeze", "view",
           "METHODS"]

# Functions that are also Tensor methods: x.exp() is exp(x).
METHODS = {f.__name__: f for f in (
    abs, clamp, exp, log, masked_fill, relu, sigmoid, sqrt, tanh, matmul, log_softmax, softmax,
    logsumexp, max, mean, min, sum, var, chunk, expand, flatten, permute, reshape, split,
    squeeze, transpose, unsqueeze)}
METHODS["view"] = view
METHODS["pow"] = pow
