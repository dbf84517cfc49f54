"""From loaded interactions to ``PreparedData``: user selection, catalogue policy, splits."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .catalogue import ItemCatalogue
from .prepared import PreparedData
from .splits import MIN_SEQUENCE_LENGTH, UserSequence, leave_one_out

logger = logging.getLogger(__name__)


@dataclass
class InteractionData:
    """What every format loader returns: the catalogue and the users' chronological sequences.

    Attributes:
        name: dataset name.
        catalogue: the items; its order defines the item indices used in ``sequences``.
        sequences: users in source order, each with item indices in chronological order.
        sid_codes: optional ``int64 [len(catalogue), n_digits]`` SID digits aligned with the catalogue.
    """

    name: str
    catalogue: ItemCatalogue
    sequences: list[UserSequence]
    sid_codes: np.ndarray | None = None

    def to_prepared(
        self,
        max_history: int | None = None,
        max_users: int | None = None,
        keep_unused_items: bool = True,
    ) -> PreparedData:
        """Select users, apply the catalogue policy and build leave-one-out splits.

        * Users with fewer than 3 interactions cannot give a train, a validation and a test target;
          they are skipped (and counted in a warning) before anything else.
        * ``max_users`` keeps the first N remaining users in source order (MindRec's protocol: 5,000).
        * ``keep_unused_items=True`` (default) keeps the whole catalogue, including items no kept user
          touched: evaluation ranks over the full catalogue. ``False`` drops them and renumbers the
          remaining items in their original relative order.
        """
        if max_users is not None and max_users < 1:
            raise ValueError(f"max_users must be >= 1 or None, got {max_users}")
        seen_users: set[str] = set()
        for sequence in self.sequences:
            if sequence.user_id in seen_users:
                raise ValueError(f"{self.name}: user {sequence.user_id!r} appears twice")
            seen_users.add(sequence.user_id)

        sequences = [s for s in self.sequences if len(s.items) >= MIN_SEQUENCE_LENGTH]
        skipped = len(self.sequences) - len(sequences)
        if skipped:
            logger.warning(
                "%s: skipped %d of %d users with fewer than %d interactions",
                self.name,
                skipped,
                len(self.sequences),
                MIN_SEQUENCE_LENGTH,
            )
        if not sequences:
            raise ValueError(f"{self.name}: no user has at least {MIN_SEQUENCE_LENGTH} interactions")
        if max_users is not None and len(sequences) > max_users:
            logger.warning(
                "%s: max_users=%d keeps the first %d of %d users; the other %d are left out (max_users None keeps all)",
                self.name,
                max_users,
                max_users,
                len(sequences),
                len(sequences) - max_users,
            )
            sequences = sequences[:max_users]

        catalogue, sid_codes = self.catalogue, self.sid_codes
        if not keep_unused_items:
            used = sorted({item for sequence in sequences for item in sequence.items})
            remap = {old: new for new, old in enumerate(used)}
            catalogue = catalogue.subset(used)
            sequences = [UserSequence(s.user_id, [remap[i] for i in s.items]) for s in sequences]
            if sid_codes is not None:
                sid_codes = sid_codes[used]

        prepared = PreparedData(
            splits=leave_one_out(sequences, max_history=max_history),
            items=catalogue.to_dataset(),
            name=self.name,
            sid_codes=sid_codes,
        )
        logger.info("%s: %s", self.name, prepared.statistics())
        return prepared
