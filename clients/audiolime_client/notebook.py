"""An explanation inline in a notebook: the heat map, the tagger's baseline, the verified parts with
players, the surrogate's top components and the self-check.

    view = client.view(job)          # in Jupyter, the last expression of a cell shows it
    view                              # or IPython.display.display(view)

Jupyter shows any object with `_repr_html_`, so nothing here imports IPython. The players' audio
is fetched once by the client and embedded (data: URIs): the service's audio URLs need the
Authorization header, which an <audio src> cannot send, and a saved notebook keeps its sound.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING

from audiolime_client import heatmap
from audiolime_client.models import Explanation, Job, TagExplanation
from audiolime_client.parts import PARTS, VerifiedPart, part_details

if TYPE_CHECKING:
    from audiolime_client.client import Client

MEDIA_TYPES = {"flac": "audio/flac", "wav": "audio/wav"}
TOP_ROWS = 5


@dataclass(frozen=True)
class ExplanationView:
    """One finished job's explanation of one tag, with its parts' audio, ready to show."""
    job: Job
    tag: str
    heatmap_png: bytes
    audio: dict[str, bytes] = field(default_factory=dict)  # part -> encoded audio, for the found ones
    audio_format: str = "flac"

    @property
    def explanation(self) -> Explanation:
        return self.job.result

    @property
    def explained(self) -> TagExplanation:
        return self.explanation.tag(self.tag)

    def _repr_html_(self) -> str:
        explained = self.explained
        sampled, checked = self.explanation.off
        return "".join([
            f"<div class='audiolime'><h3>What the tagger hears as “{escape(self.tag)}”</h3>",
            f"<p>job {escape(self.job.id)}: score {explained.original_score:.4f}; what is off is "
            f"{escape(sampled)} while sampling and {escape(checked)} in the mixes below</p>",
            _baseline_html(explained), *(self._part_html(explained.part(name)) for name in PARTS),
            f"<img alt='heat map of the weights' src='data:image/png;base64,"
            f"{base64.b64encode(self.heatmap_png).decode()}'/>",
            _ranking_html(self.explanation, explained), _self_check_html(self.explanation, explained), "</div>"])

    def _part_html(self, part: VerifiedPart | None) -> str:
        if part is None:
            return ""
        names = ", ".join(self.explanation.components[i].name for i in part.components or ())
        player = ""
        if part.part in self.audio:
            data = base64.b64encode(self.audio[part.part]).decode()
            player = (f"<audio controls data-part='{part.part}' "
                      f"src='data:{MEDIA_TYPES[self.audio_format]};base64,{data}'></audio>")
        found = f"<b>{escape(names)}</b>" if part.found else "<b>none found</b>"
        return (f"<div class='part'><h4>{escape(part.heading)}</h4><p>{found}: {escape(part.statement)}"
                f"<br/><small>{escape(part_details(part))}</small></p>{player}</div>")


def _baseline_html(explained: TagExplanation) -> str:
    baseline = explained.baseline
    if baseline is None:
        return ""
    warning = (f"<p style='color:#a4161a'><b>Confounded.</b> {escape(baseline.statement)}</p>"
               if baseline.confounded else "")
    rows = "".join(f"<tr><td>{escape(s.source)} alone</td><td>{s.score:.4f}</td><td>#{s.rank}</td>"
                   f"<td>{escape(s.top_tag)}</td></tr>" for s in baseline.sources)
    return (f"<div class='baseline'><h4>Baseline</h4>{warning}<table><tr><th>mix</th><th>score</th><th>rank</th>"
            f"<th>top tag</th></tr><tr><td>the clip</td><td>{baseline.original_score:.4f}</td>"
            f"<td>#{baseline.original_rank}</td><td></td></tr><tr><td>every component off</td>"
            f"<td>{baseline.score:.4f}</td><td>#{baseline.rank}</td><td></td></tr>{rows}</table></div>")


def _ranking_html(explanation: Explanation, explained: TagExplanation) -> str:
    rows = "".join(f"<tr><td>{r.rank}</td><td>{escape(r.component.name)}</td><td>{r.weight:+.4f}</td></tr>"
                   for r in explanation.top_components(explained.tag, TOP_ROWS))
    return f"<h4>The surrogate's top components</h4><table><tr><th>rank</th><th>component</th><th>weight</th></tr>{rows}</table>"


def _self_check_html(explanation: Explanation, explained: TagExplanation) -> str:
    rows = "".join(f"<tr><td>{row.k}</td><td>{row.score:.4f}</td><td>{escape(row.top_tag)}</td>"
                   f"<td>{'yes' if row.still_top else 'no'}</td></tr>" for row in explained.self_check)
    if not rows:
        return ""
    return ("<h4>Self-check: the top-k alone</h4><table><tr><th>k</th><th>tag score</th><th>top tag</th>"
            f"<th>still top</th></tr>{rows}</table>")


def view(client: "Client", job: Job, tag: str | None = None, audio_format: str = "flac") -> ExplanationView:
    """A finished job's explanation of `tag` (default: the first), its found parts' audio fetched."""
    explained = job.result.tag(tag)
    audio = {part.part: client.download_part(job, part.part, explained.tag, format=audio_format)
             for part in explained.playable_parts()}
    return ExplanationView(job, explained.tag, heatmap.png_bytes(job.result, [explained.tag]), audio, audio_format)
