"""Python client and command line for the audioLIME service (its public HTTP API only).

    from audiolime_client import Client
    with Client("http://127.0.0.1:8600") as client:
        job = client.explain("song.mp3", tagger="http://127.0.0.1:8601/predict", tags=["low"], progress=True)
        for ranked in job.result.top_components("low", 3):
            print(ranked.rank, ranked.component.source, ranked.component.span, ranked.weight, ranked.interval)
        print(job.result.tag("low").stability)  # the claim about the top components, and how sure it is

The heat map lives in `audiolime_client.heatmap` (it imports matplotlib, so only when asked).
"""
__version__ = "1.0.0"  # before the imports below: http.py sends it as the User-Agent

from audiolime_client.client import DEFAULT_URL, Client  # noqa: E402
from audiolime_client.errors import (  # noqa: E402
    ApiError, AudiolimeError, BadRequest, ConnectionFailed, JobCancelled, JobFailed, JobNotFinished, JobStateError,
    NotFound, NotReady, PayloadTooLarge, ServerError, ServiceUnavailable, Timeout, Unauthorized, Unprocessable,
    UnexpectedResponse, UnsupportedMediaType, UsageError,
)
from audiolime_client.http import RetryPolicy, Transport  # noqa: E402
from audiolime_client.models import (  # noqa: E402
    Component, Explanation, Job, JobError, Page, Progress, RankedComponent, Segment, SelfCheckRow, Stage, Stats,
    Submitted, TagExplanation,
)
from audiolime_client.samples import Samples  # noqa: E402
from audiolime_client.sampling import Sampling  # noqa: E402
from audiolime_client.settings import TaggerSettings, explanation_request  # noqa: E402
from audiolime_client.stability import GroupShare, Groups, Stability  # noqa: E402

__all__ = [
    "DEFAULT_URL", "ApiError", "AudiolimeError", "BadRequest", "Client", "Component", "ConnectionFailed",
    "Explanation", "GroupShare", "Groups", "Job", "JobCancelled", "JobError", "JobFailed", "JobNotFinished",
    "JobStateError", "NotFound", "NotReady", "Page", "PayloadTooLarge", "Progress", "RankedComponent",
    "RetryPolicy", "Samples", "Sampling", "Segment", "SelfCheckRow", "ServerError", "ServiceUnavailable",
    "Stability", "Stage", "Stats", "Submitted", "TagExplanation", "TaggerSettings", "Timeout", "Transport",
    "Unauthorized", "UnexpectedResponse", "Unprocessable", "UnsupportedMediaType", "UsageError",
    "explanation_request",
]
