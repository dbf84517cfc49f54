"""The exponential moving average of the trainable weights (TrainingArguments.ema_decay): exact updates,
the swap in and out of the model, and its file round trip."""

import pytest
import torch
from safetensors.torch import save_file

from mindrec.training.arguments import TrainingArguments
from mindrec.training.weight_average import WEIGHT_AVERAGE_FILE, WeightAverage


def tiny_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2))
    model[1].weight.requires_grad_(False)  # frozen: not averaged
    return model


def test_updates_follow_the_warmed_up_decay_exactly():
    model = tiny_model()
    average = WeightAverage(model.named_parameters(), decay=0.2)
    assert average.names == ["0.weight", "0.bias", "1.bias"]
    expected = [parameter.detach().clone() for parameter in average.parameters]
    decays = []
    for step in range(3):
        with torch.no_grad():
            for parameter in average.parameters:
                parameter.add_(float(step + 1))
        decay = average.current_decay()
        decays.append(decay)
        average.update()
        expected = [
            decay * old + (1 - decay) * new.detach()
            for old, new in zip(expected, average.parameters, strict=True)
        ]
        for value, target in zip(average.averages, expected, strict=True):
            torch.testing.assert_close(value, target, rtol=0, atol=1e-6)
    # k-th update: min(decay, (1 + k) / (10 + k)) -> 2/11, then the cap 0.2 (3/12 = 0.25 is above it)
    assert decays == pytest.approx([2 / 11, 0.2, 0.2])
    assert average.num_updates == 3


def test_averaged_weights_swap_in_and_always_come_back():
    model = tiny_model()
    average = WeightAverage(model.named_parameters(), decay=0.9)
    with torch.no_grad():
        for parameter in average.parameters:
            parameter.add_(1.0)
    average.update()
    raw = {name: value.clone() for name, value in model.state_dict().items()}
    with pytest.raises(RuntimeError, match="inside"):
        with average.averaged_weights():
            for parameter, value in zip(average.parameters, average.averages, strict=True):
                assert torch.equal(parameter, value)
            assert torch.equal(model[1].weight, raw["1.weight"])  # frozen weights stay as they are
            raise RuntimeError("inside")
    for name, value in model.state_dict().items():
        assert torch.equal(value, raw[name]), name


def test_save_then_load_round_trips_and_mismatches_are_named(tmp_path):
    model = tiny_model()
    average = WeightAverage(model.named_parameters(), decay=0.9)
    with torch.no_grad():
        model[0].weight.mul_(3.0)
    average.update()
    average.update()
    average.save(tmp_path)
    fresh = WeightAverage(tiny_model().named_parameters(), decay=0.9)
    fresh.load(tmp_path)
    assert fresh.num_updates == 2
    for value, target in zip(fresh.averages, average.averages, strict=True):
        assert torch.equal(value, target)

    with pytest.raises(
        ValueError, match=r"has no weight_average.safetensors: it was written without `ema_decay`"
    ):
        fresh.load(tmp_path / "missing")
    save_file(
        {"0.weight": torch.zeros(2, 3)}, str(tmp_path / WEIGHT_AVERAGE_FILE), metadata={"num_updates": "1"}
    )
    with pytest.raises(
        ValueError, match=r"does not match the model's trainable parameters \(missing \['0.bias', '1.bias'\]"
    ):
        fresh.load(tmp_path)
    tensors = {name: torch.zeros(1) for name in fresh.names}
    save_file(tensors, str(tmp_path / WEIGHT_AVERAGE_FILE), metadata={"num_updates": "1"})
    with pytest.raises(ValueError, match=r"0.weight has shape \(1,\), the model \(2, 3\)"):
        fresh.load(tmp_path)


@pytest.mark.parametrize("decay", [0.0, 1.0, 1.5, -0.1])
def test_bad_decays_are_refused(decay):
    with pytest.raises(ValueError, match=r"`ema_decay` must be in \(0, 1\)"):
        TrainingArguments(ema_decay=decay)
    with pytest.raises(ValueError, match=r"decay must be in \(0, 1\)"):
        WeightAverage(tiny_model().named_parameters(), decay=decay)


def test_a_model_without_trainable_parameters_is_refused():
    model = tiny_model().requires_grad_(False)
    with pytest.raises(ValueError, match="needs trainable parameters"):
        WeightAverage(model.named_parameters(), decay=0.9)
