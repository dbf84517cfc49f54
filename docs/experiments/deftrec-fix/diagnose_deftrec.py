"""DeftRec diagnosis on beauty-full validation: train a few hundred steps, then rank by several rules.

An experiment script (prints, no tests), kept for the log in docs/experiments/README.md ("DeftRec: why it
ranked like popularity, and the fix"). It trains with a plain loop (AdamW, lr 2e-3, warm-up 20, constant,
batch 256, one BPR negative, grad-norm clip 1) and validates on the harness's 2,000-user subset (seed 0),
ranking by: one DDPM sample (`ddpm50`), the mean of 16 DDPM samples (`ddpm20-mean16`), deterministic DDIM
from noise or from 0 (`ddim50`, `ddim50-z`), the x_0 estimate at t from x_t = 0 (`x0@t`), and the
denoising error of every candidate (`err@t`, on the first --err-users users); each vector is scored by dot,
cos, -L2, and dot / cos about the catalogue mean (`cdot`, `ccos`).

Run: OMP_NUM_THREADS=1 PYTHONPATH=<repo> python docs/experiments/deftrec-fix/diagnose_deftrec.py \
        --vectors <SASRec item_vectors.npy> --steps 600 --eval-every 150 --methods x0,ddpm --set prediction_type=sample
"""

import argparse
import json
import time
from pathlib import Path

import torch

from mindrec.benchmark.protocols import get_protocol
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.modeling.scheduling_ddpm import DDPMSchedule
from mindrec.training.arguments import ModelArguments
from mindrec.training.deftrec_collator import DeftRecCollator
from mindrec.training.model_setup import build_deftrec_model

p = argparse.ArgumentParser()
p.add_argument("--vectors", required=True)
p.add_argument("--steps", type=int, default=400)
p.add_argument("--eval-every", type=int, default=200)
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--batch", type=int, default=256)
p.add_argument("--val-users", type=int, default=2000)
p.add_argument("--err-users", type=int, default=300)
p.add_argument("--negatives", type=int, default=1)
p.add_argument("--bpr-weight", type=float, default=None)
p.add_argument("--set", action="append", default=[], help="config attr=value (float/int/str)")
p.add_argument("--methods", default="ddpm,x0,ddim,err")
p.add_argument("--out", default=None)
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()

torch.set_num_threads(1)
torch.manual_seed(args.seed)
protocol = get_protocol("beauty-full")
data, data_args = load_protocol_data(protocol, resolve_data_path(protocol, None, Path("/work/deftrec")))
plan = protocol.plans["deftrec"]
model_args = ModelArguments(**{**plan.model, "deftrec_item_vectors": args.vectors, "model_type": "deftrec",
                               "model_setting": "small", "deftrec_num_negatives": args.negatives})
model = build_deftrec_model(data, model_args, data_args, seed=args.seed)
cfg = model.config
if args.bpr_weight is not None:
    cfg.bpr_weight = args.bpr_weight
for item in args.set:
    key, value = item.split("=", 1)
    old = getattr(cfg, key)
    setattr(cfg, key, type(old)(value) if not isinstance(old, bool) else value.lower() == "true")
print("config", {k: getattr(cfg, k) for k in ("bpr_weight", "num_negatives", "retrieval", "num_inference_steps")},
      [s for s in args.set], flush=True)

train = data.splits["train"]
val = data.splits["validation"]
gen = torch.Generator().manual_seed(args.seed)
rows = sorted(torch.randperm(len(val), generator=gen)[: args.val_users].tolist())
val_sub = val.select(rows)
val_hist = [list(h)[-cfg.max_history:] for h in val_sub["history"]]
val_tgt = torch.tensor(val_sub["target"])
collator = DeftRecCollator(cfg.num_items, cfg.max_history, args.negatives, seed=args.seed)
train_rows = train.to_list()

opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
warm = 20
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))

V = model.item_vectors.float()  # raw
Vs = model.scaled_item_vectors(torch.arange(cfg.num_items))


def pad(hists):
    w = max(len(h) for h in hists)
    out = torch.full((len(hists), w), -1, dtype=torch.long)
    for i, h in enumerate(hists):
        if h:
            out[i, w - len(h):] = torch.tensor(h)
    return out


def ndcg_from_scores(scores, hist_items, tgt):
    """scores [U, I] higher better. Exclude history. Returns (ndcg10, hr10) means."""
    scores = scores.clone().float()
    for i, h in enumerate(hist_items):
        if h:
            scores[i, torch.tensor(h)] = -float("inf")
    t = scores.gather(1, tgt[:, None])
    rank = (scores > t).sum(1)
    hit = rank < 10
    ndcg = torch.where(hit, 1.0 / torch.log2(rank.float() + 2), torch.zeros_like(rank, dtype=torch.float))
    return float(ndcg.mean()), float(hit.float().mean())


def retrieval_all(vec):
    """vec [U, d] in raw scale -> dict of scores"""
    vec = vec.float()
    mu = V.mean(0)
    Vc = V - mu
    return {
        "cdot": (vec - mu) @ V.T,
        "ccos": torch.nn.functional.normalize(vec - mu, dim=-1) @ torch.nn.functional.normalize(Vc, dim=-1).T,
        "dot": vec @ V.T,
        "cos": torch.nn.functional.normalize(vec, dim=-1) @ torch.nn.functional.normalize(V, dim=-1).T,
        "l2": -torch.cdist(vec, V),
    }


@torch.no_grad()
def conditions(hists):
    cs = []
    for s in range(0, len(hists), 500):
        cs.append(model.encode_users(pad(hists[s:s + 500])))
    return torch.cat(cs)


@torch.no_grad()
def ddim(cond, steps, eta, start_zero=False, g=None):
    sch = DDPMSchedule(cfg.num_train_timesteps, cfg.beta_start, cfg.beta_end)
    sch.set_timesteps(steps)
    B = cond.shape[0]
    x = torch.zeros(B, cfg.item_vector_dim) if start_zero else torch.randn(B, cfg.item_vector_dim, generator=g)
    ts = sch.timesteps.tolist()
    for i, t in enumerate(ts):
        prev = ts[i + 1] if i + 1 < len(ts) else -1
        eps = model.predicted_noise(x, t, cond)
        ab, abp = sch.alpha_bar(t), sch.alpha_bar(prev)
        x0 = (x - (1 - ab) ** 0.5 * eps) / ab ** 0.5
        sigma = eta * (((1 - abp) / (1 - ab)) * (1 - ab / abp)) ** 0.5
        dir_ = (max(1 - abp - sigma ** 2, 0.0)) ** 0.5 * eps
        x = abp ** 0.5 * x0 + dir_
        if sigma > 0 and prev >= 0:
            x = x + sigma * torch.randn(x.shape, generator=g)
    return x / model.item_vector_scale


@torch.no_grad()
def x0_at(cond, t, x_t=None):
    B = cond.shape[0]
    sch = model.noise_schedule
    ab = sch.alpha_bar(t)
    x = torch.zeros(B, cfg.item_vector_dim) if x_t is None else x_t
    eps = model.predicted_noise(x, t, cond)
    return (x - (1 - ab) ** 0.5 * eps) / ab ** 0.5 / model.item_vector_scale


@torch.no_grad()
def err_scores(cond, ts, g):
    """-denoising error of each candidate [U, I], summed over timesteps ts (one shared eps per t per user)."""
    den = model.denoiser
    U, n_items = cond.shape[0], cfg.num_items
    total = {}
    for t in ts:
        ab = model.noise_schedule.alpha_bar(t)
        temb = den.time_embedding(torch.full((1,), t, dtype=torch.long))  # [1, h]
        d = cfg.item_vector_dim
        W = den.in_proj.weight  # [h, d + h + c]
        Wx, Wt, Wc = W[:, :d], W[:, d:d + temb.shape[1]], W[:, d + temb.shape[1]:]
        out = torch.empty(U, n_items)
        for u in range(U):
            eps = torch.randn(1, d, generator=g)
            xt = ab ** 0.5 * Vs + (1 - ab) ** 0.5 * eps  # [I, d]
            h = xt @ Wx.T + (temb @ Wt.T + cond[u:u + 1] @ Wc.T + den.in_proj.bias)
            h = den.act_fn(h)
            h = den.act_fn(den.mid_proj(h))
            e = den.out_proj(h)
            out[u] = -(e - eps).pow(2).mean(-1)
        total[t] = out
    return total


def evaluate(step):
    model.eval()
    res = {"step": step}
    t0 = time.time()
    cond = conditions(val_hist)
    g = torch.Generator().manual_seed(0)
    methods = args.methods.split(",")
    if "ddpm" in methods:
        vec = []
        for s in range(0, len(val_hist), 500):
            vec.append(model.sample_vectors(cond[s:s + 500], generator=g))
        vec = torch.cat(vec)
        for k, sc in retrieval_all(vec).items():
            res[f"ddpm50-{k}"] = ndcg_from_scores(sc, val_hist, val_tgt)[0]
        mean = sum(model.sample_vectors(cond, generator=g, num_inference_steps=20) for _ in range(16)) / 16
        for k, sc in retrieval_all(mean).items():
            res[f"ddpm20-mean16-{k}"] = ndcg_from_scores(sc, val_hist, val_tgt)[0]
    if "ddim" in methods:
        for start_zero in (False, True):
            vec = ddim(cond, 50, 0.0, start_zero=start_zero, g=g)
            for k, sc in retrieval_all(vec).items():
                res[f"ddim50{'-z' if start_zero else ''}-{k}"] = ndcg_from_scores(sc, val_hist, val_tgt)[0]
    if "x0" in methods:
        for t in (999, 700, 400):
            vec = x0_at(cond, t)
            for k, sc in retrieval_all(vec).items():
                res[f"x0@{t}-{k}"] = ndcg_from_scores(sc, val_hist, val_tgt)[0]
    if "err" in methods:
        n = args.err_users
        sub = err_scores(cond[:n], [100, 300, 500, 700, 900], g)
        tot = 0
        for t, sc in sub.items():
            res[f"err@{t}[{n}]"] = ndcg_from_scores(sc, val_hist[:n], val_tgt[:n])[0]
            tot = tot + sc
        res[f"err-sum[{n}]"] = ndcg_from_scores(tot, val_hist[:n], val_tgt[:n])[0]
        # same-subset reference for x0
        vec = x0_at(cond[:n], 999)
        res[f"x0@999-dot[{n}]"] = ndcg_from_scores(vec.float() @ V.T, val_hist[:n], val_tgt[:n])[0]
    res["eval_s"] = round(time.time() - t0, 1)
    model.train()
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}), flush=True)
    return res


# Vector statistics: how popularity relates to norms.
pop = torch.zeros(cfg.num_items)
for r in train_rows:
    pop[r["target"]] += 1
norms = V.norm(dim=-1)
def rk(x):
    return x.argsort().argsort().float()


rho = float(torch.corrcoef(torch.stack([rk(pop), rk(norms)]))[0, 1])
print(f"vectors: rms {float(V.pow(2).mean().sqrt()):.4f} norm mean {float(norms.mean()):.3f} std {float(norms.std()):.3f}; "
      f"spearman(pop, norm) {rho:.3f}", flush=True)
mean_vec = V.mean(0)
print("dot with mean vector ranking (pop-like?):", ndcg_from_scores((mean_vec[None] @ V.T).expand(len(val_hist), -1), val_hist, val_tgt)[0],
      "popularity:", ndcg_from_scores(pop[None].expand(len(val_hist), -1), val_hist, val_tgt)[0], flush=True)

history = []
model.train()
order = torch.randperm(len(train_rows), generator=gen)
pos = 0
t0 = time.time()
for step in range(1, args.steps + 1):
    if pos + args.batch > len(order):
        order = torch.randperm(len(train_rows), generator=gen)
        pos = 0
    batch = collator([train_rows[i] for i in order[pos:pos + args.batch].tolist()])
    pos += args.batch
    out = model(**batch, generator=gen)
    opt.zero_grad()
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    if step % 50 == 0:
        print(f"step {step} loss {float(out.loss.detach()):.4f} mse {float(out.mse_loss):.4f} "
              f"bpr {float(out.bpr_loss) if out.bpr_loss is not None else float('nan'):.4f} {time.time() - t0:.0f}s", flush=True)
    if step % args.eval_every == 0:
        history.append(evaluate(step))
if args.out:
    Path(args.out).write_text(json.dumps(history, indent=1))
