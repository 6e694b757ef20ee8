"""Lasso dictionaries of 1-D networks: explicit (materialised) and implicit (priced in O(N)).

* :mod:`.explicit` — the paper's dictionaries as matrices of :class:`~convexforecast.core.
  features.Feature` columns, deduplicated (tests, the cvxpy reference, deep sign/abs nets);
* :mod:`.implicit` — the same families for the working-set solver, never materialised;
* :mod:`.factory` — which implicit dictionary each network family uses.
"""

from convexforecast.core.dictionaries.explicit import (
    ACTIVATIONS,
    SUPPORTED_DEPTHS,
    ExplicitDictionary,
    build_dictionary,
    candidate_features,
    feature_matrix,
)
from convexforecast.core.dictionaries.factory import make_dictionaries
from convexforecast.core.dictionaries.implicit import (
    FormulaDictionary,
    ImplicitDictionary,
    MatrixDictionary,
    PairDictionary,
    pair_feature,
)

__all__ = ["ACTIVATIONS", "SUPPORTED_DEPTHS", "ExplicitDictionary", "FormulaDictionary",
           "ImplicitDictionary", "MatrixDictionary", "PairDictionary", "build_dictionary",
           "candidate_features", "feature_matrix", "make_dictionaries", "pair_feature"]
