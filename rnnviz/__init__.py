"""rnnviz: see inside LSTM and GRU sentiment models, gate by gate and token by token.

    import rnnviz
    model = rnnviz.load("lstm-sst2")
    tr = rnnviz.trace(model, "not bad at all")
    att = rnnviz.attribute(model, "not bad at all")   # each token's part of the prediction
    mine = rnnviz.wrap(my_module, my_tokenizer)        # your own nn.Module with an LSTM / GRU inside
    index = rnnviz.corpus.build(model, texts)          # what every unit does across a corpus
"""

from . import corpus, patterns

from .attribution import Attribution, attribute
from .checkpoint import CheckpointError, available_models, load, load_from_bytes, save
from .intervene import Clamp
from .model import MAX_TOKENS, ModelConfig, ModelInfo, SentimentModel
from .rnn_trace import RNNTrace, trace_rnn
from .text import Vocabulary, tokenize
from .trace import Trace, trace
from .wrap import WrappedModel, wrap

__all__ = [
    "Attribution", "CheckpointError", "Clamp", "MAX_TOKENS", "ModelConfig", "ModelInfo", "RNNTrace", "SentimentModel", "Trace",
    "Vocabulary", "WrappedModel", "attribute", "available_models", "corpus", "load", "patterns", "load_from_bytes", "save", "tokenize", "trace",
    "trace_rnn", "wrap",
]
