"""Act: the learning-rate range test, side-by-side comparisons, hyperparameter search (Optuna)."""

from kerasdoctor.tune.lr_find import LRFindResult, lr_find

__all__ = ["LRFindResult", "lr_find"]
