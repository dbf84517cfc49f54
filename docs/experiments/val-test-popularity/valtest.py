"""Throwaway: per-user ranks on validation and test for SASRec (trained here) and a MindRec checkpoint (fused
decoder), then val->test NDCG@10 by history length and by the target's training popularity."""
import json
import sys

import numpy as np
import torch

from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.training.model_io import load_trained_model

torch.set_num_threads(1)
mode, out = sys.argv[1], sys.argv[2]
protocol = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, __import__("pathlib").Path("/work/main")))
splits = data.splits
counts = np.zeros(data.num_items)
# training interactions = each train user's full train sequence = last train row's history + target
last = {}
for u, h, t in zip(splits["train"]["user_id"], splits["train"]["history"], splits["train"]["target"], strict=False):
    last[u] = list(h) + [t]
for seq in last.values():
    for i in seq:
        counts[i] += 1

def ranks(result, split):
    lists = result.item_lists.numpy()
    targets = np.array(split["target"])
    hit = lists == targets[:, None]
    r = np.where(hit.any(1), hit.argmax(1), 99)
    return r

def summary(name, r_val, r_test):
    def ndcg(r): return np.where(r < 10, 1 / np.log2(r + 2), 0)
    rows = {}
    for split, r, s in (("val", r_val, splits["validation"]), ("test", r_test, splits["test"])):
        hl = np.array([len(h) for h in s["history"]])
        pop = counts[np.array(s["target"])]
        rows[split] = dict(all=float(ndcg(r).mean()), hr1=float((r == 0).mean()),
            by_len={f"{a}-{b}": float(ndcg(r)[(hl >= a) & (hl <= b)].mean()) for a, b in ((1, 4), (5, 7), (8, 11), (12, 19), (20, 99))},
            by_pop={f"{a}-{b}": float(ndcg(r)[(pop >= a) & (pop <= b)].mean()) for a, b in ((0, 4), (5, 9), (10, 19), (20, 49), (50, 99), (100, 10**6))},
            pop_share={f"{a}-{b}": float(((pop >= a) & (pop <= b)).mean()) for a, b in ((0, 4), (5, 9), (10, 19), (20, 49), (50, 99), (100, 10**6))})
    print(name, json.dumps(rows, indent=1))
    return rows

result = {}
if mode != "sasrec":
    trained = load_trained_model(mode, device="cpu")
    rec = mindrec_recommender(trained.model, trained.tokenizer, trained.generation_config)
    rv = evaluate_recommender(rec, splits["validation"], data.num_items, ks=(1, 10), batch_size=500, show_progress=False)
    rt = evaluate_recommender(rec, splits["test"], data.num_items, ks=(1, 10), batch_size=500, show_progress=False)
    mr_v, mr_t = ranks(rv, splits["validation"]), ranks(rt, splits["test"])
    result["mindrec"] = summary("mindrec", mr_v, mr_t)
    np.save(out + "-mindrec.npy", np.stack([mr_v, mr_t]))

else:
    from mindrec.baselines.sasrec import SASRecConfig
    from mindrec.baselines.sasrec_training import SASRecTrainingArguments, train_sasrec
    plan = protocol.plans["sasrec"]
    args = SASRecTrainingArguments(**{"seed": 0, "show_progress": False, "eval_exclude_history": True, **plan.training,
        "max_train_minutes": 25, "patience": 4})
    model, history = train_sasrec(splits, data.num_items, SASRecConfig(**plan.model), args)
    def srec(histories):
        return model.recommend(histories, 10, exclude_history=True)
    sv = evaluate_recommender(srec, splits["validation"], data.num_items, ks=(1, 10), batch_size=500, show_progress=False)
    st = evaluate_recommender(srec, splits["test"], data.num_items, ks=(1, 10), batch_size=500, show_progress=False)
    s_v, s_t = ranks(sv, splits["validation"]), ranks(st, splits["test"])
    result["sasrec"] = summary("sasrec", s_v, s_t)
    np.save(out + "-sasrec.npy", np.stack([s_v, s_t]))
json.dump(result, open(out + "-" + ("sasrec" if mode == "sasrec" else "mindrec") + ".json", "w"), indent=1)
