"""Conditional vectors and training-by-sampling, all as tensor ops."""

from __future__ import annotations

import numpy as np
import torch
from support.gan_world import SCHEMA, make_table

from synthdata.model.rows.condition import ConditionSampler
from synthdata.model.rows.transform import DataTransformer

DF = make_table(n_rows=3000)
TR = DataTransformer(SCHEMA, seed=0).fit(DF)
CODES = TR.encode_codes(DF)


def _sampler() -> ConditionSampler:
    s = ConditionSampler(TR)
    s.attach_rows(CODES)
    return s


def test_train_batch_conditions_on_one_column_and_real_rows_match() -> None:
    torch.manual_seed(0)
    s = _sampler()
    col, val, cond, rows = s.sample_train(4000)
    assert cond.shape == (4000, s.cond_dim)
    for i, slot in enumerate(s.slots):
        mask = col == i
        assert mask.any()
        # the chosen real row really has the conditioned value
        assert (torch.from_numpy(CODES[slot.column])[rows[mask]] == val[mask]).all()
        block = cond[:, slot.offset : slot.offset + slot.width]
        assert (block[~mask] == 0).all()  # every other row leaves this slot empty
        if slot.kind == "id":
            assert torch.allclose(block[mask], s.table(i)[val[mask]])
        else:
            assert torch.equal(block[mask], torch.nn.functional.one_hot(val[mask], slot.n_values).float())


def test_log_frequency_oversamples_rare_values() -> None:
    torch.manual_seed(1)
    s = _sampler()
    i = s.slot_index("channel")
    col, val, _, _ = s.sample_train(60_000)
    picked = val[col == i].numpy()
    info = TR.column_info("channel")
    rare = int(np.argmin(info.frequencies))
    share = (picked == rare).mean()
    assert share > info.frequencies[rare] * 1.5  # training-by-sampling favours rare values


def test_sampling_conditions_follow_empirical_frequencies() -> None:
    s = _sampler()
    g = torch.Generator().manual_seed(0)
    col, val = s.sample_original(60_000, generator=g)
    i = s.slot_index("rating")
    picked = val[col == i].numpy()
    freq = np.bincount(picked, minlength=5) / len(picked)
    assert np.abs(freq - TR.column_info("rating").frequencies).max() < 0.02


def test_condition_loss_is_zero_only_when_the_condition_is_met() -> None:
    s = _sampler()
    col, val, _, rows = s.sample_train(500)
    honest = torch.from_numpy(TR.transform(DF.iloc[rows.numpy()]))
    honest_logits = honest.clone()
    for slot in s.slots:  # turn one-hot blocks into confident logits
        if slot.kind == "discrete":
            b = honest_logits[:, slot.span_start : slot.span_start + slot.span_dim]
            honest_logits[:, slot.span_start : slot.span_start + slot.span_dim] = b * 50
    assert s.loss(honest_logits, col, val) < 1e-3
    assert s.loss(-honest_logits, col, val) > 1.0
