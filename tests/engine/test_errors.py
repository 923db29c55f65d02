"""A failed job's error title comes from its exception class, inherited down the tree."""
from backend.tagger.netguard import RefusedAddressError
from engine.errors import (InvalidAudioError, InvalidOptionError, ModelMissingError, SeparationError, TaggerError,
                           TaggerResponseError, TaggerUnreachableError)


def test_each_kind_of_failure_has_its_own_title_and_subclasses_inherit_theirs():
    titles = {cls: cls("x").title for cls in (InvalidAudioError, InvalidOptionError, SeparationError,
                                                ModelMissingError, TaggerError, TaggerUnreachableError,
                                                TaggerResponseError, RefusedAddressError)}
    assert titles == {InvalidAudioError: "Invalid audio", InvalidOptionError: "Invalid request",
                      SeparationError: "Separation failed", ModelMissingError: "Separation model missing",
                      TaggerError: "Tagger error", TaggerUnreachableError: "Tagger unreachable",
                      TaggerResponseError: "Tagger answered nonsense", RefusedAddressError: "Tagger address refused"}

    class SlowTagger(TaggerUnreachableError):  # a new kind of failure states its title where it is defined
        pass

    assert SlowTagger("x").title == "Tagger unreachable"
