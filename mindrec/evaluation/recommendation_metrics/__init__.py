"""The ``recommendation_metrics`` module for the ``evaluate`` library (load this folder with ``evaluate.load``)."""
