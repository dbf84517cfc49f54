#!/usr/bin/env python
"""Probe (not a package feature): a learning curve with the retrieval head also trained at the canvas whose category
slots hold the target's category path (its semantic-ID digits still masked).

The shipped head reads only the fully masked canvas: it models p(item | history). Trained at the category-revealed
canvas too, the same head models p(item | category path, history), the second factor of the coarse-to-fine
factorisation p(item | history) = p(path | history) p(item | path, history) that MindRec's codes are built for and
that an ID-only baseline cannot form. The extra canvas is packed into the same backbone pass as the noise views (one
more view of ``code_length`` tokens); it adds COND_WEIGHT x its full-softmax cross-entropy to the loss and has no
masked-diffusion loss of its own. The learning curve reads the plan's fused decoder unchanged (the conditioned head is
used at decoding by ``decode_probe.py``). Arguments are scripts/learning_curves.py's:

    COND_WEIGHT=0.25 python docs/experiments/category-query/run.py --protocol beauty-full --plan mindrec \
        --name s26-catq0.25 --max-steps 1028 --eval-steps 257 --num-threads 1 --output_dir /work/exp/curves \
        --work-dir /work/exp/work/s26-catq0.25
"""

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from mindrec.benchmark.curves import curves_main  # noqa: E402
from mindrec.modeling.modeling_mindrec import MindRecForRecommendation  # noqa: E402

COND_WEIGHT = float(os.environ["COND_WEIGHT"])

original_forward = MindRecForRecommendation.forward
original_packed = MindRecForRecommendation._packed_views_hidden


def category_view(self, rows: int, device: torch.device) -> torch.BoolTensor:
    """``[rows, 1, code_length]`` noise mask: category slots revealed, semantic-ID digits masked."""
    mask = torch.ones(rows, 1, self.config.code_length, dtype=torch.bool, device=device)
    mask[..., : self.config.num_category_levels] = False
    return mask


def packed_views_hidden(self, input_ids, target_tokens, noise_mask, *args, **kwargs):
    if not getattr(self, "_catq_pending", False):
        return original_packed(self, input_ids, target_tokens, noise_mask, *args, **kwargs)
    self._catq_pending = False
    extended = torch.cat([noise_mask, category_view(self, noise_mask.shape[0], noise_mask.device)], dim=1)
    prompt, hidden = original_packed(self, input_ids, target_tokens, extended, *args, **kwargs)
    self._catq_hidden = hidden[:, -1]  # [B, L, d]
    return prompt, hidden[:, :-1]


def forward(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None, history_code_ids=None,
            labels=None, **kwargs):
    training = labels is not None and self.training
    self._catq_pending = training
    output = original_forward(self, input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                              inputs_embeds=inputs_embeds, history_code_ids=history_code_ids, labels=labels, **kwargs)
    self._catq_pending = False
    if not training:
        return output
    hidden, self._catq_hidden = self._catq_hidden, None
    target_tokens = labels[:, -self.config.code_length:]
    valid = torch.ones(target_tokens.shape[0], 1, dtype=torch.bool, device=target_tokens.device)
    target_items = self.model.history_item_indices(target_tokens[:, None], valid)[:, 0]
    history_items = self.history_items(history_code_ids) if self.config.retrieval_transition_prior else None
    logits = self.item_retrieval_logits(hidden, self.model.catalogue_item_vectors(), history_items, target_items)
    loss = nn.functional.cross_entropy(logits, target_items, label_smoothing=self.config.retrieval_label_smoothing)
    output.loss = output.loss + COND_WEIGHT * loss
    return output


MindRecForRecommendation.forward = forward
MindRecForRecommendation._packed_views_hidden = packed_views_hidden

if __name__ == "__main__":
    curves_main(None, repo_root=Path(__file__).resolve().parents[3])
