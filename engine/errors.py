"""One exception tree for the engine, the separators and the tagger clients.

Every error a user can cause or fix carries a message that says what to do;
callers map these classes to HTTP statuses, never their message text.
"""


class ExplanationError(Exception):
    """Base class of every error this project raises on purpose.

    `title` is what a failed job's error says it was (its `title`), a short phrase per class."""
    title = "Invalid request"


class InvalidInputError(ExplanationError, ValueError):
    """The caller's input cannot be explained as given."""


class InvalidAudioError(InvalidInputError):
    """Audio that is empty, undecodable, non-finite or of the wrong shape."""
    title = "Invalid audio"


class InvalidSourcesError(InvalidInputError):
    """Sources that do not fit together or do not fit the mixture."""
    title = "Invalid stems"


class InvalidOptionError(InvalidInputError):
    """An option outside its allowed values (an unknown mode, a bad count...)."""


class SeparationError(ExplanationError):
    """Source separation could not run."""
    title = "Separation failed"


class ModelMissingError(SeparationError):
    """A separation model's files are missing or incomplete."""
    title = "Separation model missing"


class TaggerError(ExplanationError):
    """The tagger could not give usable predictions (its answers changed labels, say).

    Carries what a user needs to act: the HTTP status seen last, how many attempts
    were made, and which batch of the job it was (filled in by whoever knows them).
    """
    title = "Tagger error"

    def __init__(self, message: str, *, http_status: int | None = None, attempts: int | None = None,
                 batch: int | None = None):
        super().__init__(message)
        self.http_status = http_status
        self.attempts = attempts
        self.batch = batch


class TaggerUnreachableError(TaggerError):
    """The tagger could not be reached or kept failing after retries."""
    title = "Tagger unreachable"


class TaggerResponseError(TaggerError):
    """The tagger answered, but with something that is not a valid prediction."""
    title = "Tagger answered nonsense"


class CancelledError(ExplanationError):
    """The explanation was cancelled while it ran."""
