"""Python client and command line for the audioLIME service (its public HTTP API only).

    from audiolime_client import Client
    with Client("http://127.0.0.1:8600") as client:
        job = client.explain("song.mp3", tagger="http://127.0.0.1:8601/predict", tags=["low"], progress=True)
        for ranked in job.result.top_components("low", 3):
            print(ranked.rank, ranked.component.source, ranked.component.span, ranked.weight, ranked.interval)
        print(job.result.tag("low").stability)  # the claim about the top components, and how sure it is
        study = client.wait_study(client.submit_study(["a.wav", "b.wav"], tagger=…, separator="hpss").id)
        print(study.report.tag().faithfulness)  # how often the top-k alone keep the tag on top, over the clips

The heat map lives in `audiolime_client.heatmap` (it imports matplotlib, so only when asked).
"""
__version__ = "1.0.0"  # before the imports below: http.py sends it as the User-Agent

from audiolime_client.client import DEFAULT_URL, Client  # noqa: E402
from audiolime_client.errors import (  # noqa: E402
    ApiError, AudiolimeError, BadRequest, ConnectionFailed, JobCancelled, JobFailed, JobNotFinished, JobStateError,
    NotFound, NotReady, PayloadTooLarge, ServerError, ServiceUnavailable, StudyCancelled, StudyFailed, Timeout,
    Unauthorized, Unprocessable, UnexpectedResponse, UnsupportedMediaType, UsageError,
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
from audiolime_client.study_models import (  # noqa: E402
    FaithfulnessRow, Study, StudyClip, StudyPage, StudyProgress, StudyReport, StudySubmitted, StudyTag, TopComponent,
)

__all__ = [
    "DEFAULT_URL", "ApiError", "AudiolimeError", "BadRequest", "Client", "Component", "ConnectionFailed",
    "Explanation", "FaithfulnessRow", "GroupShare", "Groups", "Job", "JobCancelled", "JobError", "JobFailed",
    "JobNotFinished", "JobStateError", "NotFound", "NotReady", "Page", "PayloadTooLarge", "Progress",
    "RankedComponent", "RetryPolicy", "Samples", "Sampling", "Segment", "SelfCheckRow", "ServerError",
    "ServiceUnavailable", "Stability", "Stage", "Stats", "Study", "StudyCancelled", "StudyClip", "StudyFailed",
    "StudyPage", "StudyProgress", "StudyReport", "StudySubmitted", "StudyTag", "Submitted", "TagExplanation",
    "TaggerSettings", "Timeout", "TopComponent", "Transport", "Unauthorized", "UnexpectedResponse", "Unprocessable",
    "UnsupportedMediaType", "UsageError", "explanation_request",
]
