"""MusicVAE's hierarchical decoder (Roberts et al., 2018): a conductor over bars.

A flat LSTM decoder that reads the previous step can model a piece well while ignoring z:
everything it needs is in the steps it has already written. Here a conductor LSTM turns z
into one embedding per bar, and a bottom decoder writes each bar from its embedding alone:
its state starts afresh at every bar, so what a bar needs to know about the rest of the
piece has to pass through the conductor, hence through z.

With ``handover`` (MusicVAE's choice, and the default of new runs), an autoregressive bottom
decoder's first step of a bar reads the previous bar's last step: the data's in training, the
step drawn (or rounded, greedy) when generating, so bars are then written one after another.
Without it (runs of config versions before 8) every bar reads zeros there, and cannot know
which notes are already sounding: prior samples then stack chords on each bar's first step.

Shapes: z (B, latent); a piece x (B, T, F) of T = U bars of ``bar`` steps each; the
conductor's embeddings (B, U, H); the bottom decoder is an ``LSTMDecoder`` over the B * U
bars, (B * U, bar, F), reading its bar's embedding where a flat decoder reads z (and,
with ``autoregressive``, the previous step of the bar; with ``step_made``, the lower
values of the step). A conditional decoder's conductor reads the code [z, one-hot(y)].
Since no weight depends on the number of bars, the conductor can also run longer than
the training windows (``model.at_length``): longer pieces from one z.
"""
import chainer
import chainer.functions as F
import chainer.links as L

from chainer_vae.errors import ConfigError
from chainer_vae.model import ops
from chainer_vae.model.decoders import LSTMDecoder, _Decoder, fed_back
from chainer_vae.model.layers import sequence_shape


class HierarchicalDecoder(_Decoder):
    """A conductor LSTM of ``hidden[0]`` units over the bars, and a bottom
    ``LSTMDecoder`` of ``hidden[-1]`` units over the steps of each bar (see the module
    docstring). ``bar`` is the number of steps of a bar."""

    def __init__(self, output_shape, latent, likelihood, hidden=(256,), bar=16,
                 autoregressive=False, step_made=0, dropout=0.0, labels=0, handover=False):
        super().__init__(output_shape, likelihood, labels)
        steps, self._features = sequence_shape(output_shape)
        if bar < 1 or steps % bar:
            raise ConfigError("the hierarchical decoder needs windows of whole bars: {} steps "
                              "are not a whole number of bars of {}".format(steps, bar))
        self._bar, self._bars = bar, steps // bar
        self.handover = handover and autoregressive
        conductor, code = hidden[0] if hidden else 256, latent + labels
        with self.init_scope():
            self.initial_h = L.Linear(code, conductor)
            self.initial_c = L.Linear(code, conductor)
            self.conductor = ops.NStepLSTM(1, code, conductor, dropout=0.0)
            self.bottom = LSTMDecoder((bar, self._features), conductor, likelihood,
                                      hidden=(hidden[-1] if hidden else 256,),
                                      autoregressive=autoregressive, step_made=step_made,
                                      dropout=dropout)

    def embeddings(self, z):
        """The conductor's embedding of every bar, (B * U, H), bar-major within a piece,
        for codes z (B, latent + labels)."""
        z = chainer.as_variable(z)
        batch = z.shape[0]
        state = F.tanh(self.initial_h(z))[None], self.initial_c(z)[None]
        inputs = F.broadcast_to(z[:, None, :], (batch, self._bars, z.shape[1]))
        _, _, embedded = self.conductor(state[0], state[1], inputs)
        return ops.reshape(embedded, (batch * self._bars, embedded.shape[2]))

    def raw(self, z, x=None):
        batch = z.shape[0]
        bars = first = None
        if x is not None:
            bars = ops.reshape(x, (batch * self._bars, self._bar, self._features))
            if self.handover:
                first = self._handed_over(chainer.as_array(x), batch)
        raw = self.bottom.raw(self.embeddings(z), bars, first)  # (B * U, n_params, bar, F)
        n_params = raw.shape[1]
        raw = ops.reshape(raw, (batch, self._bars, n_params, self._bar, self._features))
        return ops.reshape(F.transpose(raw, (0, 2, 1, 3, 4)),
                           (batch, n_params) + self.output_shape)

    def _handed_over(self, x, batch):
        """The step each bar reads before its first, (B * U, F): zeros for a piece's first
        bar, the previous bar's last step of x (B, T, F) for the others."""
        last = x.reshape(batch, self._bars, self._bar, self._features)[:, :, -1]
        first = self.xp.zeros_like(last)
        first[:, 1:] = last[:, :-1]
        return first.reshape(batch * self._bars, self._features)

    def generate(self, z, sample=False, y=None, temperature=1.0):
        """The means of p(x|z, y) (with ``sample``, values drawn), bar by bar from the
        conductor's embeddings, the logits divided by ``temperature``: (B, T, F).
        Without hand-over the bars of a piece are written side by side, since none reads
        another; with it, one bar after another."""
        with chainer.no_backprop_mode(), chainer.using_config("train", False):
            embedded = self.embeddings(self.code(z, y)).array
        batch = len(embedded) // self._bars
        if not self.handover:
            means = self.bottom.generate(embedded, sample, temperature=temperature)
            return means.reshape((batch,) + self.output_shape)
        embedded = embedded.reshape(batch, self._bars, -1)
        bars, first = [], None
        for u in range(self._bars):
            bar = self.bottom.generate(embedded[:, u], sample, temperature=temperature,
                                       first=first)
            # what the next bar reads: the step drawn, or the greedy step (see ``fed_back``)
            first = bar[:, -1] if sample else fed_back(self.likelihood, bar[:, -1], False)
            bars.append(bar)
        return self.xp.concatenate(bars, axis=1).reshape((batch,) + self.output_shape)
