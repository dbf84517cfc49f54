"""Throw-away: which users does each model put the target first for? Decodes a split with a benchmark MindRec
checkpoint (its fused row, as its generation_config says) and the SASRec the benchmark kept for the same seed
(``<work-dir>/sasrec/seed<s>/model``, its validation's credits), both with the split's counts as of its targets, and
counts the users with the target first for both, MindRec only, SASRec only. For the users whose target ever followed
their last history item in training it also counts, per model, how often the first item is such a successor. One JSON
line.

    DATA=<folder> python docs/experiments/top1-overlap/probe.py MINDREC_CHECKPOINT SASREC_MODEL_DIR SPLIT
"""

import json
import pathlib
import sys

import numpy as np

from mindrec.baselines import SASRecModel, transition_counts

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from probe_setup import decode_split, install_sasrec_split_counts, install_split_counts, probe_inputs  # noqa: E402

checkpoint, sasrec_dir, split_name = sys.argv[1], sys.argv[2], sys.argv[3]
data, counts, trained = probe_inputs(checkpoint)
install_split_counts(trained, data, split_name)
mindrec = np.asarray(decode_split(trained, trained.generation_config, data, split_name, counts).item_lists)[:, 0]
sasrec_model = SASRecModel.from_pretrained(sasrec_dir).eval()
install_sasrec_split_counts(sasrec_model, data, split_name)
split = data.splits[split_name]
histories, targets = [list(h) for h in split["history"]], np.asarray(split["target"])
sasrec = np.asarray(sasrec_model.recommend(histories, k=1, exclude_history=True))[:, 0]
# Direct successors in the training sequences (each training row's history end -> its target).
successors = transition_counts(data.splits["train"], data.num_items, 0.0).coalesce()
pairs = set(map(tuple, successors.indices().T.tolist()))
last = np.asarray([h[-1] for h in histories])
follows = np.asarray([(int(a), int(t)) in pairs for a, t in zip(last, targets, strict=True)])
m_hit, s_hit = mindrec == targets, sasrec == targets
m_succ = np.asarray([(int(a), int(i)) in pairs for a, i in zip(last, mindrec, strict=True)])
s_succ = np.asarray([(int(a), int(i)) in pairs for a, i in zip(last, sasrec, strict=True)])
print(json.dumps({
    "mindrec": checkpoint, "sasrec": sasrec_dir, "split": split_name, "users": len(targets),
    "hr@1": {"mindrec": round(float(m_hit.mean()), 4), "sasrec": round(float(s_hit.mean()), 4)},
    "target_first_for": {"both": int((m_hit & s_hit).sum()), "mindrec_only": int((m_hit & ~s_hit).sum()),
                         "sasrec_only": int((~m_hit & s_hit).sum())},
    "same_first_item": int((mindrec == sasrec).sum()),
    "targets_that_followed_the_last_item": int(follows.sum()),
    "hits_among_them": {"mindrec": int((m_hit & follows).sum()), "sasrec": int((s_hit & follows).sum())},
    "first_item_a_successor_of_the_last": {"mindrec": int(m_succ.sum()), "sasrec": int(s_succ.sum())},
}), flush=True)
