"""A BERT token classifier that also sees each word's original characters.

The shipped encoder is uncased. ``CasedBertForTokenClassification`` adds two small
inputs to the word-piece embeddings before the first transformer layer:

- ``char_ids`` ``[B, T, MAX_WORD_CHARS]``: the characters of the word each token
  belongs to, encoded by a character CNN (casing, affixes, digits);
- ``casing_ids`` ``[B, T]``: the word's casing class (see ``models.features``).

Their sum is projected to the hidden size by a zero-initialised layer, so
training starts exactly at the plain encoder and every layer can use casing in
context. The classes register with the ``Auto*`` factories under
``model_type="newsevents_cased_bert"``: once ``models`` is imported,
``AutoModelForTokenClassification.from_pretrained(path)`` loads the artifact with
no remote code.
"""

from __future__ import annotations

import torch
from newsevents.models.features import MAX_WORD_CHARS, N_CASING_IDS, N_CHAR_IDS
from torch import nn
from transformers import AutoConfig, AutoModelForTokenClassification, BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import TokenClassifierOutput

__all__ = ["CasedBertConfig", "CasedBertForEvents", "CasedBertForTokenClassification"]


class CasedBertConfig(BertConfig):
    """BERT config plus the sizes of the casing/character feature block."""

    model_type = "newsevents_cased_bert"

    def __init__(
        self,
        char_vocab_size: int = N_CHAR_IDS,
        char_dim: int = 32,
        char_filters: int = 128,
        casing_vocab_size: int = N_CASING_IDS,
        casing_dim: int = 32,
        max_word_chars: int = MAX_WORD_CHARS,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.char_vocab_size = char_vocab_size
        self.char_dim = char_dim
        self.char_filters = char_filters
        self.casing_vocab_size = casing_vocab_size
        self.casing_dim = casing_dim
        self.max_word_chars = max_word_chars


class _WordFeatures(nn.Module):
    def __init__(self, config: CasedBertConfig) -> None:
        super().__init__()
        self.char_emb = nn.Embedding(config.char_vocab_size, config.char_dim, padding_idx=0)
        self.char_cnn = nn.Conv1d(config.char_dim, config.char_filters, kernel_size=3, padding=1)
        self.casing_emb = nn.Embedding(config.casing_vocab_size, config.casing_dim)
        self.proj = nn.Linear(config.char_filters + config.casing_dim, config.hidden_size)

    def forward(self, char_ids: torch.Tensor, casing_ids: torch.Tensor) -> torch.Tensor:
        b, t, c = char_ids.shape
        x = self.char_emb(char_ids.view(b * t, c)).transpose(1, 2)  # [BT, D, C]
        x = torch.relu(self.char_cnn(x))
        x = x.masked_fill((char_ids.view(b * t, 1, c) == 0), 0.0).amax(dim=2)  # [BT, F]
        feats = torch.cat([x.view(b, t, -1), self.casing_emb(casing_ids)], dim=-1)
        return self.proj(feats)


class _CasedEncoder(BertPreTrainedModel):
    """The shared body: BERT whose input embeddings carry the word-feature block."""

    config_class = CasedBertConfig

    def __init__(self, config: CasedBertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.word_features = _WordFeatures(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def zero_feature_projection(self) -> None:
        """Make the feature block a no-op, so fine-tuning starts at the plain encoder."""
        nn.init.zeros_(self.word_features.proj.weight)
        nn.init.zeros_(self.word_features.proj.bias)

    def encode(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        char_ids: torch.Tensor | None = None,
        casing_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Last hidden states ``[B, T, H]`` (after dropout in training)."""
        embeds = self.bert.embeddings.word_embeddings(input_ids)
        if char_ids is not None and casing_ids is not None:
            embeds = embeds + self.word_features(char_ids, casing_ids)
        hidden = self.bert(inputs_embeds=embeds, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return self.dropout(hidden.last_hidden_state)


class CasedBertForTokenClassification(_CasedEncoder):
    """``BertForTokenClassification`` with word-level casing/character inputs."""

    def __init__(self, config: CasedBertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        char_ids: torch.Tensor | None = None,
        casing_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> TokenClassifierOutput:
        logits = self.classifier(self.encode(input_ids, attention_mask, token_type_ids, char_ids, casing_ids))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1), ignore_index=-100)
        return TokenClassifierOutput(loss=loss, logits=logits)


class CasedBertForEvents(_CasedEncoder):
    """The event model: a sentence-level type head and a type-conditioned role tagger.

    - ``type_logits`` ``[B, n_types]``: multi-label event types, read from ``[CLS]``
      of the plain sentence (``[CLS] sentence [SEP]``).
    - ``role_logits`` ``[B, T, n_roles]``: IOB tags of trigger, source and target,
      for the input ``[CLS] type prompt [SEP] sentence [SEP]`` (question-answering
      style event extraction: one pass per predicted type).
    - ``mode_logits`` ``[B, n_modes]`` (models whose config lists ``mode_labels``):
      the PLOVER mode of the asked type, read from ``[CLS]`` of the role input.

    The same encoder serves both heads; callers read the head they asked for.
    """

    # The shipped artifact leaves out the embedding table it shares with the NER
    # model (filled in by models.events at load time), so its absence is expected.
    _keys_to_ignore_on_load_missing = [r"bert\.embeddings\.word_embeddings\.weight"]

    def __init__(self, config: CasedBertConfig) -> None:
        super().__init__(config)
        self.type_head = nn.Linear(config.hidden_size, len(config.event_types))
        self.role_head = nn.Linear(config.hidden_size, len(config.role_labels))
        modes = getattr(config, "mode_labels", None)
        self.mode_head = nn.Linear(config.hidden_size, len(modes)) if modes else None
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        char_ids: torch.Tensor | None = None,
        casing_ids: torch.Tensor | None = None,
        **kwargs,
    ) -> dict[str, torch.Tensor]:
        hidden = self.encode(input_ids, attention_mask, token_type_ids, char_ids, casing_ids)
        out = {"type_logits": self.type_head(hidden[:, 0]), "role_logits": self.role_head(hidden)}
        if self.mode_head is not None:
            out["mode_logits"] = self.mode_head(hidden[:, 0])
        return out


AutoConfig.register(CasedBertConfig.model_type, CasedBertConfig, exist_ok=True)
AutoModelForTokenClassification.register(CasedBertConfig, CasedBertForTokenClassification, exist_ok=True)
