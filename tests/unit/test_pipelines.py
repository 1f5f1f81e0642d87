"""Reading a sample of a pipeline leaves what training sees unchanged (workload.pipelines)."""

import random

import kerasdoctor  # noqa: F401, I001  (chooses the backend)
import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.workload.pipelines import pipeline_kind, read_sample

X = np.arange(100 * 3, dtype="float32").reshape(100, 3)
Y = (np.arange(100) % 4).astype("int32")


class Noisy(keras.utils.PyDataset):
    """Augments with the global NumPy and Python random state, as many a user's PyDataset does."""

    def __init__(self, batch_size=10, **kwargs):
        super().__init__(**kwargs)
        self.batch_size = batch_size

    def __len__(self):
        return len(X) // self.batch_size

    def __getitem__(self, index):
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return X[rows] + np.random.normal(size=X[rows].shape).astype("float32") + random.random(), Y[rows]


def _batches(count=10, size=10):
    for index in range(count):
        yield X[index * size:(index + 1) * size], Y[index * size:(index + 1) * size]


def test_kinds_are_told_apart_and_arrays_are_not_a_pipeline():
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X)), batch_size=4)
    assert pipeline_kind(tf.data.Dataset.from_tensor_slices((X, Y))) == "tf.data"
    assert pipeline_kind(Noisy()) == "PyDataset"
    assert pipeline_kind(loader) == "DataLoader"
    assert pipeline_kind(_batches()) == "generator"
    assert pipeline_kind(X) is None and pipeline_kind([X, Y]) is None and pipeline_kind(iter([X])) is None


def test_a_generator_is_replayed_so_training_sees_every_batch_once_in_order():
    generator = _batches()
    sample = read_sample(generator, max_rows=25)
    assert sample.kind == "generator" and sample.batches_read == 3 and sample.rows == 30
    np.testing.assert_array_equal(sample.x, X[:30])
    np.testing.assert_array_equal(sample.y, Y[:30])
    replayed = list(sample.replacement)
    assert len(replayed) == 10
    for index, (x, y) in enumerate(replayed):
        np.testing.assert_array_equal(x, X[index * 10:(index + 1) * 10])


def test_a_generator_that_fails_while_read_fails_again_for_fit_after_the_batches_it_gave():
    def failing():
        yield X[:10], Y[:10]
        raise OSError("the disk went away")

    with pytest.raises(KerasDoctorError, match="raised OSError") as caught:
        read_sample(failing())
    replay = caught.value.replacement
    first = next(replay)
    np.testing.assert_array_equal(first[0], X[:10])
    with pytest.raises(OSError, match="the disk went away"):
        next(replay)


def test_a_pydataset_sample_leaves_the_global_random_state_as_it_was():
    np.random.seed(3)
    random.seed(3)
    expected = np.random.normal(size=5), random.random()
    np.random.seed(3)
    random.seed(3)
    sample = read_sample(Noisy(), max_rows=1000, max_batches=4, seed=1)
    assert sample.kind == "PyDataset" and sample.batches == 10 and sample.batches_read == 4
    assert (np.random.normal(size=5) == expected[0]).all() and random.random() == expected[1]
    assert sorted(set(sample.y.tolist())) == [0, 1, 2, 3]


def test_a_shuffling_dataloader_draws_the_same_order_for_training_after_a_sample():
    def loader():
        torch.manual_seed(0)
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)),
                                           batch_size=10, shuffle=True)

    expected = [y.tolist() for _, y in loader()]
    sampled = loader()
    sample = read_sample(sampled, max_rows=20)
    assert sample.kind == "DataLoader" and sample.batches == 10 and sample.rows == 20
    assert [y.tolist() for _, y in sampled] == expected


def test_a_tf_dataset_is_read_in_a_separate_iteration_of_its_first_batches():
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(16)
    sample = read_sample(dataset, max_rows=40)
    assert sample.kind == "tf.data" and sample.batches == 7 and sample.batches_read == 3
    np.testing.assert_array_equal(sample.x, X[:48])
    infinite = read_sample(dataset.repeat(), max_rows=10_000, max_batches=9)
    assert infinite.batches is None and infinite.batches_read == 9


def _orders(dataset, epochs):
    return [[int(v) for batch in dataset.map(lambda x, y: y) for v in np.ravel(batch)] for _ in range(epochs)]


@pytest.mark.parametrize("make", [
    lambda: tf.data.Dataset.from_tensor_slices((X, np.arange(100))).shuffle(100, seed=3).batch(16),
    # a shuffle inside a pipeline that also maps and prefetches, and one that repeats
    lambda: (tf.data.Dataset.from_tensor_slices((X, np.arange(100))).map(lambda x, y: (x * 2, y))
             .shuffle(50, seed=4).batch(10).prefetch(2)),
    lambda: tf.data.Dataset.from_tensor_slices((X, np.arange(100))).shuffle(100, seed=5).take(40).repeat(2).batch(8),
])
def test_reading_a_reshuffling_tf_dataset_leaves_the_orders_training_gets_as_they_were(make):
    untouched = _orders(make(), 3)
    assert untouched[0] != untouched[1]  # the control: it reshuffles on each iteration
    dataset = make()
    sample = read_sample(dataset, max_batches=3)
    assert sample.batches_read == 3 and sorted(np.ravel(sample.y).tolist()) != sample.y.tolist()
    assert _orders(dataset, 3) == untouched


def test_reading_a_tf_dataset_leaves_a_random_generator_its_map_draws_from_as_it_was():
    # Augmentation the way TensorFlow's tutorials do it: a seeded tf.random.Generator in a map.
    def make():
        generator = tf.random.Generator.from_seed(7)
        return tf.data.Dataset.from_tensor_slices((X, Y)).map(lambda x, y: (x + generator.normal([3]), y)).batch(20)

    def draws(dataset):
        return [np.concatenate([x.numpy() for x, _ in dataset]) for _ in range(2)]

    untouched = draws(make())
    assert not np.array_equal(*untouched)  # the control: each pass draws new noise
    dataset = make()
    read_sample(dataset, max_batches=2)
    assert all(np.array_equal(a, b) for a, b in zip(draws(dataset), untouched))


def test_a_tf_dataset_is_copied_only_when_it_holds_shared_random_state_and_few_bytes(monkeypatch):
    import kerasdoctor.workload.pipelines as pipelines

    copied = []
    copy = pipelines._with_own_random_state
    monkeypatch.setattr(pipelines, "_with_own_random_state", lambda d: copied.append(d) or copy(d))
    plain = tf.data.Dataset.from_tensor_slices((X, Y)).batch(10)
    shuffled = tf.data.Dataset.from_tensor_slices((X, Y)).shuffle(100, seed=1).batch(10)
    read_sample(plain)
    read_sample(shuffled)
    assert copied == [shuffled]
    assert pipelines._walk(shuffled) == (X.nbytes + Y.nbytes, True)
    monkeypatch.setattr(pipelines, "MAX_COPY_BYTES", X.nbytes)  # too large to copy: read itself
    read_sample(shuffled)
    assert copied == [shuffled]


def test_reading_a_tf_dataset_from_a_generator_leaves_numpys_global_random_state_as_it_was():
    def noisy():
        for start in range(0, 100, 20):
            yield X[start:start + 20] + np.random.normal(size=(20, 3)).astype("float32"), Y[start:start + 20]

    spec = (tf.TensorSpec((None, 3), tf.float32), tf.TensorSpec((None,), tf.int32))
    np.random.seed(3)
    untouched = np.random.random(4)
    np.random.seed(3)
    read_sample(tf.data.Dataset.from_generator(noisy, output_signature=spec), max_batches=2)
    np.testing.assert_array_equal(np.random.random(4), untouched)


def test_dict_inputs_and_a_ragged_last_batch_are_read():
    dataset = tf.data.Dataset.from_tensor_slices(({"a": X, "b": X[:, :1]}, Y)).batch(30)
    sample = read_sample(dataset)
    assert sample.x["a"].shape == (100, 3) and sample.x["b"].shape == (100, 1) and sample.y.shape == (100,)
    sequences = (np.zeros((4, length), "int32") for length in (5, 5, 7))
    sample = read_sample(((s, s) for s in sequences))
    assert sample.x.shape == (8, 5)  # a batch of another shape is left out of the sample


@pytest.mark.parametrize("pipeline, message", [
    (iter([]), "not a data pipeline"),
    ((b for b in []), "yielded no batches"),
    ((np.float32(1.0) for _ in range(3)), "holds no batched inputs"),
    (tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[1], [2, 3]])).batch(2), "cannot be read as arrays"),
])
def test_unreadable_pipelines_get_one_clear_error(pipeline, message):
    with pytest.raises(KerasDoctorError, match=message):
        read_sample(pipeline)


def test_batches_without_labels_are_read_as_inputs_only():
    sample = read_sample(tf.data.Dataset.from_tensor_slices(X).batch(10), max_rows=10)
    assert sample.y is None and sample.x.shape == (10, 3)
