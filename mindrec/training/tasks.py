"""What the training loop needs of a model type: collate, loss and a recommender for evaluation.

* :class:`MindRecTask`: the tokenizer's inputs (``MindRecCollator``), the masked-diffusion loss (or OCN
  views), ``model.generate`` with the configured decoding strategy;
* :class:`DeftRecTask`: ``DeftRecCollator`` (histories, targets, negatives), DeftRec's denoising loss,
  DeftRec's generate + retrieval.

Every random draw takes a ``torch.Generator`` the loop seeds per step, so a resumed run replays the
same noise, negatives and prompt templates as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from mindrec.evaluation.model_evaluation import Recommender, deftrec_recommender, mindrec_recommender

from .collator import MindRecCollator
from .ocn import ocn_batch


class MindRecTask:
    """MindRec (small or LLM setting).

    Args:
        tokenizer: the run's :class:`MindRecTokenizer`.
        generation_config: the ``RecommendationGenerationConfig`` used for validation and test.
        ocn: train with On-policy Coherent Noising instead of random masking.
    """

    model_type = "mindrec"

    def __init__(self, tokenizer, generation_config, ocn: bool = False):
        self.tokenizer = tokenizer
        self.generation_config = generation_config
        self.ocn = ocn
        self.collator = MindRecCollator(tokenizer, random_templates=True)
        self._catalogue = None

    @property
    def num_items(self) -> int:
        return self.tokenizer.num_items

    def collate(self, rows: Sequence[Mapping], generator: torch.Generator) -> dict[str, torch.Tensor]:
        return dict(self.collator(rows, generator=generator))

    def loss(
        self, model: torch.nn.Module, batch: Mapping[str, torch.Tensor], generator: torch.Generator
    ) -> torch.Tensor:
        if self.ocn:
            return model(**ocn_batch(model, batch)).loss
        return model(**batch, generator=generator).loss

    def recommender(self, model: torch.nn.Module) -> Recommender:
        from mindrec.modeling.catalogue_index import CatalogueIndex

        if self._catalogue is None:
            config = model.config
            self._catalogue = CatalogueIndex(
                self.tokenizer.item_codes, config.code_slot_sizes, config.num_category_levels
            )
        return mindrec_recommender(model, self.tokenizer, self.generation_config, catalogue=self._catalogue)


class DeftRecTask:
    """DeftRec (continuous tokens + DDPM).

    Args:
        num_items: catalogue size.
        max_history: history items kept per row (the model's ``config.max_history``).
        num_negatives: negatives per row for the BPR term.
        num_return_items, exclude_history: evaluation lists.
        seed: seed of the evaluation sampling noise (DDPM sampler).

    How vectors are generated (sampler, DDPM steps) and retrieved is the model config's.
    """

    model_type = "deftrec"

    def __init__(
        self,
        num_items: int,
        max_history: int,
        num_negatives: int,
        num_return_items: int,
        exclude_history: bool,
        seed: int = 0,
    ):
        from .deftrec_collator import DeftRecCollator

        self._num_items = num_items
        self.collator = DeftRecCollator(num_items, max_history, num_negatives, seed=seed)
        self.num_return_items = num_return_items
        self.exclude_history = exclude_history
        self.seed = seed

    @property
    def num_items(self) -> int:
        return self._num_items

    def collate(self, rows: Sequence[Mapping], generator: torch.Generator) -> dict[str, torch.Tensor]:
        # The collator draws negatives from its own CPU generator: reseed it from the step's generator.
        self.collator.generator = torch.Generator().manual_seed(
            int(torch.randint(2**62, (1,), generator=generator))
        )
        return self.collator(rows)

    def loss(
        self, model: torch.nn.Module, batch: Mapping[str, torch.Tensor], generator: torch.Generator
    ) -> torch.Tensor:
        return model(**batch, generator=generator).loss

    def recommender(self, model: torch.nn.Module) -> Recommender:
        return deftrec_recommender(
            model,
            self.num_return_items,
            self.exclude_history,
            seed=self.seed,
        )


__all__ = ["DeftRecTask", "MindRecTask"]
