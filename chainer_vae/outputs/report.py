"""A page to look and listen: ``index.html`` for a run folder or a study folder.

The page is static: no server, no network, every link relative to the folder, so it opens
from the disk and can be copied with the folder. It shows the run's settings and last
epochs (a run) or the study's summary (a study), then every picture (PNG, GIF) and every
MIDI file under the folder, grouped by subfolder; a MIDI file comes with its piano roll
(the PNG of the same name) and, where a WAV of the same name exists, an audio player.
A small script at the end counts the images and sounds that failed to load and writes the
count into the page (``#load-check``), for a person or a headless browser to read.
"""
from __future__ import annotations

import html
import json
import os
from pathlib import Path
from urllib.parse import quote

from midi.walk import files_below

from chainer_vae.config import CONFIG_FILE, RunConfig
from chainer_vae.errors import RunDirError, path_error, print_warning
from chainer_vae.files import atomic_write_text, make_folder
from chainer_vae.pretrained import CARD_FILE, card
from chainer_vae.runs import LOG_FILE, read_log

REPORT_FILE = "index.html"
SUMMARY_FILE = "summary.json"  # what ``chainer-vae study`` writes
MUSIC_METRICS = "music_metrics"  # its key for the music runs' prior samples against real music
AUDIO = "audio"  # its key for what rendered the WAV files
PRETRAINED_FOLDER = "pretrained"  # a study's samples of the shipped models: shown first
PICTURES = (".png", ".gif")
MAX_PER_FOLDER = 200  # media shown per subfolder; the rest are counted
LOG_ROWS = 5
LOG_KEYS = ("epoch", "main/loss", "validation/main/loss", "main/kl", "validation/main/kl",
            "best_epoch", "elapsed_time")

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
.gallery { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; max-width: 560px; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; } audio { display: block; width: 100%; }
#load-check { font-size: 0.85em; color: #555; }
"""
# Counts what did not load; a headless browser reads the result from the page.
CHECK_SCRIPT = """
window.addEventListener("load", function () {
  var images = document.images, broken = 0;
  for (var i = 0; i < images.length; i++) {
    if (!images[i].complete || images[i].naturalWidth === 0) { broken++; }
  }
  var sounds = document.getElementsByTagName("audio"), waiting = sounds.length, silent = 0;
  function report() {
    document.getElementById("load-check").textContent = "loaded: " + images.length +
      " images (" + broken + " broken), " + sounds.length + " sounds (" + silent + " broken)";
  }
  if (!waiting) { report(); return; }
  for (var j = 0; j < sounds.length; j++) {
    (function (sound) {
      function done(ok) { if (!ok) { silent++; } if (--waiting === 0) { report(); } }
      if (sound.readyState >= 1) { done(true); return; }
      sound.addEventListener("loadedmetadata", function () { done(true); }, {once: true});
      sound.addEventListener("error", function () { done(false); }, {once: true});
      sound.load();
    })(sounds[j]);
  }
});
"""


def write_report(folder, out=None):
    """Write ``out/index.html`` (atomically; ``out`` defaults to ``folder``) for a run
    folder (it holds config.json; a shipped model's also its card) or a study folder
    (summary.json), showing the pictures and music under ``out``; returns its path."""
    folder = Path(folder)
    out = folder if out is None else Path(out)
    if (folder / CARD_FILE).is_file():
        title, head = "pretrained:" + folder.name, _card_section(folder) + _run_section(folder)
    elif (folder / CONFIG_FILE).is_file():
        title, head = "run " + folder.name, _run_section(folder)
    elif (folder / SUMMARY_FILE).is_file():
        title, head = "study " + folder.name, _study_section(folder)
    else:
        raise RunDirError("{}: neither a run folder ({}) nor a study folder ({})".format(
            folder, CONFIG_FILE, SUMMARY_FILE))
    make_folder(out)
    body = [head] + [_media_section(out, subfolder, files)
                     for subfolder, files in _media(out)]
    page = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>{title}</title>\n<style>{style}</style>\n</head>\n<body>\n"
            "<h1>chainer-vae: {title}</h1>\n{body}\n<p id=\"load-check\">loading ...</p>\n"
            "<script>{script}</script>\n</body>\n</html>\n").format(
                title=_text(title), style=STYLE, body="\n".join(body), script=CHECK_SCRIPT)
    path = out / REPORT_FILE
    atomic_write_text(path, page)
    return path


def _text(value):
    """``value`` as HTML text; bytes of a file name that are no UTF-8 shown as U+FFFD."""
    return html.escape(str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _link(folder, path):
    """A relative link to ``path``: its bytes percent-encoded, so that any file name (one
    that is no UTF-8 too) links to its file."""
    return quote(os.fsencode(path.relative_to(folder).as_posix()))


def _table(rows, header=None):
    """An HTML table of rows of cells (numbers shown with 4 significant digits)."""
    def cell(value, tag):
        if isinstance(value, float):
            value = "{:.4g}".format(value)
        return "<{0}>{1}</{0}>".format(tag, _text(value))
    lines = ["<table>"]
    if header:
        lines.append("<tr>" + "".join(cell(value, "th") for value in header) + "</tr>")
    lines += ["<tr>" + "".join(cell(value, "td") for value in row) + "</tr>" for row in rows]
    return "\n".join(lines + ["</table>"])


def _hidden(model):
    """The hidden sizes of a ``ModelConfig``, and its mlp decoder's own if it has them."""
    text = " ".join(map(str, model.hidden))
    if model.decoder_hidden:
        text += " (decoder {})".format(" ".join(map(str, model.decoder_hidden)))
    return text


def _run_section(folder):
    config = RunConfig.load(folder)
    data, model, train = config.data, config.model, config.train
    settings = [("data set", data.dataset), ("encoder / decoder", "{} / {}".format(
                    model.encoder, model.decoder)),
                ("latent", model.latent), ("hidden", _hidden(model)),
                ("likelihood", model.likelihood), ("epochs", train.epochs),
                ("batch size", train.batch_size), ("learning rate", train.lr),
                ("weight decay", train.weight_decay), ("selection", train.select)]
    parts = ["<h2>Settings</h2>", _table(settings)]
    if (folder / LOG_FILE).is_file():
        entries = read_log(folder)[-LOG_ROWS:]
        keys = [key for key in LOG_KEYS if any(key in entry for entry in entries)]
        parts += ["<h2>Last epochs</h2>",
                  _table([[entry.get(key, "") for key in keys] for entry in entries], keys)]
    return "\n".join(parts)


def _card_section(folder):
    """What a shipped model is: its card (description, data, terms, command, figures)."""
    found = card(folder.name)
    rows = [("model", found.description), ("data", found.data), ("terms", found.terms),
            ("trained by", found.command), ("training", "{} min".format(
                found.training_minutes))]
    rows += [(key, value) for key, value in found.figures.items()
             if isinstance(value, (int, float, str)) and key != "run_dir"]
    return "<h2>Pretrained model</h2>\n" + _table(rows) + "\n"


def _study_section(folder):
    try:
        summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise RunDirError("{}: not valid JSON ({})".format(folder / SUMMARY_FILE, error)) from None
    except OSError as error:
        raise path_error(error, folder / SUMMARY_FILE, "read") from None
    summary = summary if isinstance(summary, dict) else {}
    rows = []
    for name, result in summary.items():
        if not isinstance(result, dict) or name == MUSIC_METRICS:
            continue
        scores = ", ".join("{} {}".format(key, "{:.4g}".format(value) if isinstance(
            value, float) else value) for key, value in result.items()
            if isinstance(value, (int, float)))
        files = len(result.get("midi", []))
        rows.append([name, scores, "{} MIDI files".format(files) if files else ""])
    parts = ["<h2>Summary</h2>", _table(rows, ["run", "scores (nats)", "generated"])]
    if isinstance(summary.get(AUDIO), str):
        parts.append("<p>Audio rendered by {}.</p>".format(_text(summary[AUDIO])))
    music = summary.get(MUSIC_METRICS)
    if isinstance(music, dict) and music:
        rows = [[name, found.get("window_steps", ""),
                 "drawn" if found.get("drawn") else "above {}".format(found.get("threshold")),
                 found.get("mean_overlap", ""), found.get("real_mean_overlap", ""),
                 found.get("note_f1", ""),
                 "{} / {}".format(found.get("samples", ""), found.get("held_out", ""))]
                for name, found in music.items() if isinstance(found, dict)]
        parts += ["<h2>Music: prior samples against held-out windows</h2>",
                  "<p>MGEval's mean overlapping area with the run's held-out windows (1: as "
                  "close to them as real music) of its prior samples, beside that of as "
                  "many real training windows (the ceiling), and the note F1 of its "
                  "reconstructions of the held-out windows.</p>",
                  _table(rows, ["run", "window (steps)", "prior samples", "mean overlap",
                                "real windows (ceiling)", "note F1",
                                "windows (samples / held-out)"])]
    return "\n".join(parts)


def _media(folder):
    """[(subfolder, [media files])] under ``folder``, in path order; snapshots, arrays
    and the report itself are left out, and a piano roll beside its MIDI file goes with it."""
    groups = {}
    for path in files_below(folder, PICTURES + (".mid",), warn=print_warning):
        groups.setdefault(path.parent, []).append(path)
    for files in groups.values():
        rolls = {path.with_suffix(".png") for path in files if path.suffix == ".mid"}
        files[:] = [path for path in files if path not in rolls]
    first = folder / PRETRAINED_FOLDER
    return sorted(groups.items(), key=lambda item: (first not in item[0].parents, item[0]))


def _media_section(folder, subfolder, files):
    shown, rest = files[:MAX_PER_FOLDER], len(files) - MAX_PER_FOLDER
    items = []
    for path in shown:
        caption = "<figcaption>{}</figcaption>".format(_text(path.name))
        if path.suffix.lower() in PICTURES:
            items.append('<figure><img src="{}" alt="{}" loading="lazy">{}</figure>'.format(
                _link(folder, path), _text(path.name), caption))
            continue
        roll, wav = path.with_suffix(".png"), path.with_suffix(".wav")
        parts = ['<a href="{}">{}</a>'.format(_link(folder, path), _text(path.name))]
        if roll.is_file():
            parts.insert(0, '<img src="{}" alt="piano roll of {}" loading="lazy">'.format(
                _link(folder, roll), _text(path.name)))
        if wav.is_file():
            parts.append('<audio controls preload="metadata" src="{}"></audio>'.format(
                _link(folder, wav)))
        items.append("<figure>{}</figure>".format("".join(parts)))
    title = subfolder.relative_to(folder).as_posix() if subfolder != folder else folder.name
    more = "<p>and {} more files in this folder</p>".format(rest) if rest > 0 else ""
    return '<h2>{}</h2>\n<div class="gallery">\n{}\n</div>{}'.format(
        _text(title), "\n".join(items), more)
