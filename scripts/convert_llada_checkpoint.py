#!/usr/bin/env python
"""Convert a LLaDA checkpoint folder (config.json + *.safetensors) into a MindRec model folder.

    python scripts/convert_llada_checkpoint.py --llada-dir /path/to/LLaDA-8B-Instruct --output-dir llada-mindrec --dtype bfloat16

The result loads with ``MindRecForRecommendation.from_pretrained(output_dir)``; item tokens are added
by the training script (LLM setting) before fine-tuning.
"""

from mindrec.cli_args import ArgumentParser, canonical
from mindrec.logging_setup import add_log_level_argument, setup_logging


def main() -> None:
    parser = ArgumentParser(prog="scripts/convert_llada_checkpoint.py", description=__doc__)
    parser.add_argument("--llada-dir", required=True, help="folder with LLaDA's config.json and safetensors shards")
    parser.add_argument(*canonical("output folder")[:1], required=True, help="where to write the MindRec model folder")
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=None, help="cast the weights")
    add_log_level_argument(parser)
    args = parser.parse_args()
    setup_logging(args.log_level)
    import torch

    from mindrec.modeling.convert_llada import convert_llada_checkpoint

    dtype = getattr(torch, args.dtype) if args.dtype else None
    path = convert_llada_checkpoint(args.llada_dir, args.output_dir, dtype=dtype)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
