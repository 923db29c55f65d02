"""audioLIME's explanation engine: pure numpy + scikit-learn, no I/O frameworks.

Steps, each usable alone: sources → factorization (components) → perturbations
(masks) → mixing → tagger predictions → surrogates → self-check → explanation.
"""
from .components import Component, Factorization
from .errors import (ExplanationError, InvalidAudioError, InvalidInputError, InvalidOptionError,
                     InvalidSourcesError, ModelMissingError, SeparationError, TaggerError,
                     TaggerResponseError, TaggerUnreachableError)
from .explanation import Explanation, TagExplanation
from .mixing import Mixer
from .perturbations import Perturbations, perturb
from .hpss import HPSS
from .pipeline import explain
from .refine import Refined
from .sampling import Design, SamplingSettings, Strategy
from .settings import ExplainSettings
from .separation import CachingSeparator, MemoryCache, Separator
from .slime import FrequencyBands
from .sources import Sources
from .surrogate import FeatureSelection, SurrogateOptions, fit_surrogates
from .tagger import FunctionTagger, Predictions, Tagger

__all__ = [
    "CachingSeparator", "Component", "Design", "FrequencyBands", "HPSS", "Refined", "SamplingSettings", "Strategy", "ExplainSettings", "Explanation", "ExplanationError", "Factorization",
    "FeatureSelection", "FunctionTagger", "InvalidAudioError", "InvalidInputError", "InvalidOptionError",
    "InvalidSourcesError", "MemoryCache", "Mixer", "ModelMissingError", "Perturbations", "Predictions",
    "SeparationError", "Separator", "Sources", "SurrogateOptions", "TagExplanation", "Tagger",
    "TaggerError", "TaggerResponseError", "TaggerUnreachableError", "explain", "fit_surrogates", "perturb",
]
