import io
import json

import srt
import webvtt

from podwhisperer.captions import build_captions
from podwhisperer.model import Captions, Cue
from podwhisperer.settings import CaptionSettings
from podwhisperer.writers import caption_json, format_timestamp, render_markdown, render_srt, render_vtt

from .test_model import make_transcript



def test_timestamps_carry_in_integer_milliseconds():
    assert format_timestamp(59.9996) == "00:01:00.000"  # v2 printed 00:00:59.1000
    assert format_timestamp(59.9994, sep=",") == "00:00:59,999"
    assert format_timestamp(3661.5) == "01:01:01.500"
    assert format_timestamp(0.0005) == "00:00:00.001"


def test_caption_json_contract():
    t = make_transcript()
    t.speaker_names = {"SPEAKER_00": "Luciano", "SPEAKER_01": "Eoin"}
    caps = Captions(cues=[Cue(start=0.5, end=1.0, lines=["Hi"], speaker="SPEAKER_00"),
                          Cue(start=1.2, end=59.9996, lines=["there", "you"], speaker="SPEAKER_01")])
    doc = caption_json(t, caps)
    assert doc == {
        "speakers": {"spk_0": "Eoin", "spk_1": "Luciano"},  # labels follow the sorted names
        "segments": [
            {"speakerLabel": "spk_1", "start": 0.5, "end": 1.0, "text": "Hi"},
            {"speakerLabel": "spk_0", "start": 1.2, "end": 60.0, "text": "there you"},
        ],
    }
    assert all(isinstance(s["start"], float) and isinstance(s["end"], float) for s in doc["segments"])


def test_srt_and_vtt_parse_back_with_their_libraries():
    t = make_transcript()
    t.speaker_names = {"SPEAKER_00": "Eoin & <Co>"}
    caps = build_captions(t, CaptionSettings())
    subs = list(srt.parse(render_srt(caps)))
    assert [s.content for s in subs] == ["Hello Eoin."]
    assert subs[0].start.total_seconds() == 0.5
    vtt = webvtt.from_buffer(io.StringIO(render_vtt(t, caps)))
    assert vtt.captions[0].text == "Hello Eoin."
    assert vtt.captions[0].voice == "Eoin &amp; &lt;Co&gt;"  # escaped: a name cannot inject markup
    assert vtt.captions[0].start == "00:00:00.500"


def test_markdown_groups_turns_with_timestamps():
    t = make_transcript()
    seg2 = t.segments[0].model_copy(update={"id": 1, "start": 2.5, "end": 3.0, "text": "Again."})
    seg3 = t.segments[0].model_copy(update={"id": 2, "start": 65.0, "end": 66.0, "text": "Other.", "speaker": "SPEAKER_01"})
    t.segments += [seg2, seg3]
    t.speaker_names = {"SPEAKER_00": "Eoin"}
    md = render_markdown("Ep <1>", t)
    assert md.splitlines() == ["# Ep <1>", "", "**Eoin** [00:00:00]", "", "Hello Eoin. Again.", "",
                               "**SPEAKER_01** [00:01:05]", "", "Other."]


def test_empty_transcript_renders_valid_empty_files():
    t = make_transcript()
    t.segments = []
    caps = build_captions(t, CaptionSettings())
    assert render_srt(caps) == ""
    assert render_vtt(t, caps).startswith("WEBVTT")
    assert json.loads(json.dumps(caption_json(t, caps))) == {"speakers": {}, "segments": []}
    assert "No speech" in render_markdown("Ep <1>", t)
