"""midi-roll render: FluidSynth is driven correctly and its absence is one clear line.

A stand-in ``fluidsynth`` program (a shell script the tests write) records its arguments
and writes a WAV, so the tests run where FluidSynth is not installed.
"""
import pytest

from midi import cli
from midi.render import RenderError, render_wav
from midi_factories import conductor, install_fake, midi_file, note_track, save


@pytest.fixture
def song(tmp_path):
    return save(midi_file(conductor(), note_track([(60, 0, 480), (64, 480, 960)])),
                tmp_path / "song.mid")


@pytest.fixture
def soundfont(tmp_path):
    path = tmp_path / "gm.sf2"
    path.write_bytes(b"sfbk")
    return path


def test_render_writes_a_wav_beside_the_midi(tmp_path, monkeypatch, song, soundfont):
    log = install_fake(tmp_path, monkeypatch)
    wav = render_wav(song, soundfont=soundfont, sample_rate=22050)
    assert wav == tmp_path / "song.wav"
    assert wav.read_bytes().startswith(b"RIFF")
    args = log.read_text().split()
    assert args[:2] == ["-ni", "-F"] and "22050" in args
    assert args[-2:] == [str(soundfont), str(song)]  # soundfont first, then the MIDI file
    assert not list(tmp_path.glob(".*.tmp.wav"))


def test_a_failed_render_leaves_nothing(tmp_path, monkeypatch, song, soundfont):
    install_fake(tmp_path, monkeypatch, fail="bad soundfont")
    with pytest.raises(RenderError, match="bad soundfont"):
        render_wav(song, soundfont=soundfont)
    assert not list(tmp_path.glob("*.wav")) and not list(tmp_path.glob(".*.wav"))


def test_cli_renders_a_folder(tmp_path, monkeypatch, song, soundfont, capsys):
    install_fake(tmp_path, monkeypatch)
    out = tmp_path / "audio"
    assert cli.main(["render", str(tmp_path), str(out), "--soundfont", str(soundfont),
                     "--no-progress"]) == 0
    assert (out / "song.wav").is_file()


def test_missing_fluidsynth_is_one_line_with_the_install_hint(tmp_path, monkeypatch, song,
                                                              soundfont, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert cli.main(["render", str(song), "--soundfont", str(soundfont)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "fluidsynth" in err and "apt-get install fluidsynth fluid-soundfont-gm" in err


def test_missing_soundfont_is_named(tmp_path, monkeypatch, song, capsys):
    install_fake(tmp_path, monkeypatch)
    assert cli.main(["render", str(song), "--soundfont", str(tmp_path / "none.sf2")]) == 2
    assert "none.sf2: no such soundfont file" in capsys.readouterr().err
