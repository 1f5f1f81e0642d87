"""Reads a bounded sample of a data pipeline without consuming it or changing what training sees.

``fit`` takes arrays, a ``tf.data.Dataset``, a ``keras.utils.PyDataset``, a torch ``DataLoader``
or a Python generator. keras-doctor needs a few batches of it for the probe batch and the data
statistics, and reads them the least intrusive way each kind allows:

- ``tf.data.Dataset``: the first batches of a copy of the dataset, rebuilt from its graph with
  random state of its own, so that a ``shuffle`` that reshuffles on each iteration (its default)
  or a ``tf.random.Generator`` drawn from in a ``map`` gives training what it would have given;
  Python's and NumPy's global random state (a ``from_generator``'s or a ``py_function``'s) is
  restored afterwards. A dataset without such random state, or holding more than
  ``MAX_COPY_BYTES`` of tensors in memory, is read itself: a reshuffling one of that size then
  trains on the order of its next iteration.
- ``PyDataset``: ``__getitem__`` of a few seeded batch indices, with Python's and NumPy's
  global random state restored afterwards (an augmenting ``__getitem__`` draws from them).
- torch ``DataLoader``: a separate iteration, with torch's, NumPy's and Python's random state
  (and the loader's own generator) restored afterwards, so a shuffling sampler draws the same
  order for training.
- a generator: its first batches are read and replayed: ``fit`` gets a generator that yields
  them again, then the rest, so training sees every batch exactly once, in order.
- a generator factory (a workload's ``load_data`` may return a function that makes a fresh
  generator, one pass over the data): a generator of its own, read and dropped.
"""

import contextlib
import inspect
import itertools
import random
import sys
import types
import uuid
from dataclasses import dataclass

import keras
import numpy as np

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.monitor.datastats import summarize

# A sample stops at this many batches, or once it holds this many rows.
MAX_BATCHES = 8
MAX_ROWS = 2048
# A tf.data.Dataset is copied (to read it without moving its random state on) when the tensors
# it holds in memory take at most this many bytes: a copy serializes them, at about 15 ms per MB.
MAX_COPY_BYTES = 256 * 2**20


@dataclass
class Sample:
    """A few batches of a pipeline, as NumPy structures with their rows concatenated."""

    kind: str
    x: object
    y: object  # None when the batches hold inputs only
    batches_read: int
    batches: int | None  # batches per epoch, when the pipeline says
    replacement: object = None  # what fit must get instead of the pipeline (a replaying generator)

    @property
    def rows(self):
        return int(keras.tree.flatten(self.x)[0].shape[0])


def _is_tf_dataset(value):
    module = sys.modules.get("tensorflow")
    return module is not None and isinstance(value, module.data.Dataset)


def _is_torch_loader(value):
    module = sys.modules.get("torch")
    return module is not None and isinstance(value, module.utils.data.DataLoader)


def pipeline_kind(value):
    """``"tf.data"``, ``"PyDataset"``, ``"DataLoader"``, ``"generator"``, or None for anything else."""
    if _is_tf_dataset(value):
        return "tf.data"
    if isinstance(value, keras.utils.PyDataset):
        return "PyDataset"
    if _is_torch_loader(value):
        return "DataLoader"
    if isinstance(value, types.GeneratorType):
        return "generator"
    return None


def _as_numpy(value):
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype == object:
        raise ValueError("it holds ragged or mixed values (dtype=object)")
    return array


def _unpack(batch, kind):
    """(x, y) of one batch as NumPy, the way fit unpacks it (a third item is sample weights)."""
    if isinstance(batch, list):
        batch = tuple(batch)
    x, y, _ = keras.utils.unpack_x_y_sample_weight(batch)
    try:
        x = keras.tree.map_structure(_as_numpy, x)
        y = None if y is None else keras.tree.map_structure(_as_numpy, y)
    except Exception as error:  # ragged or sparse tensors, strings, ...
        raise KerasDoctorError(f"a batch of the {kind} cannot be read as arrays: {type(error).__name__}: "
                               f"{str(error).splitlines()[0] if str(error) else ''}") from None
    leaves = keras.tree.flatten(x)
    if not leaves or any(leaf.ndim == 0 for leaf in leaves):
        raise KerasDoctorError(f"a batch of the {kind} holds no batched inputs (x).")
    return x, y


def _concatenate(batches):
    """The batches' rows together; batches whose shapes differ from the first one's are left out."""
    first = [leaf.shape[1:] for leaf in keras.tree.flatten(batches[0])]
    kept = [b for b in batches if [leaf.shape[1:] for leaf in keras.tree.flatten(b)] == first]
    if len(kept) == 1:
        return kept[0]
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts), *kept)


@contextlib.contextmanager
def _random_state_kept(*generators):
    """Python's, NumPy's and torch's global random state (and ``generators``) as they were."""
    python, numpy = random.getstate(), np.random.get_state()
    torch = sys.modules.get("torch")
    torch_state = torch.random.get_rng_state() if torch is not None else None
    kept = [(g, g.get_state()) for g in generators if g is not None]
    try:
        yield
    finally:
        random.setstate(python)
        np.random.set_state(numpy)
        if torch_state is not None:
            torch.random.set_rng_state(torch_state)
        for generator, state in kept:
            generator.set_state(state)


def _read(batches, kind, max_rows, max_batches, raw=None):
    """Unpacks batches from an iterator until ``max_rows`` rows or ``max_batches`` batches;
    ``raw`` collects the batches as they came."""
    raw = [] if raw is None else raw
    read, rows = [], 0
    for batch in batches:
        raw.append(batch)
        x, y = _unpack(batch, kind)
        read.append((x, y))
        rows += int(keras.tree.flatten(x)[0].shape[0])
        if rows >= max_rows or len(read) >= max_batches:
            break
    return read


def _sample(kind, read, batches, replacement=None):
    if not read:
        raise KerasDoctorError(f"the {kind} yielded no batches.")
    labelled = [y is not None for _, y in read]
    if not all(labelled):
        y = None
        x = _concatenate([x for x, _ in read])
    else:
        joined = _concatenate(read)
        x, y = joined
    return Sample(kind, x, y, len(read), batches, replacement)


def _with_own_random_state(dataset):
    """A copy of ``dataset`` with random state of its own, or None when it cannot be copied.

    Every iterator of a dataset shares its random state: a ``shuffle`` that reshuffles on each
    iteration takes each iteration's seeds from one seed generator, and a ``tf.random.Generator``
    used in a ``map`` is one variable. A separate read of the dataset would move training on to
    the next order and the next draws. The copy is rebuilt from the dataset's serialized graph:
    TensorFlow serializes a variable as a new one holding its current value, and each seed
    generator's handle is renamed here, so that TensorFlow finds no generator of that name and
    makes a new one from the same seeds. A ``from_generator``'s function is the dataset's own,
    called afresh as in any separate iteration. The graph holds a copy of the dataset's
    in-memory tensors (``from_tensor_slices``), so the copy is made only when they are small
    (``MAX_COPY_BYTES``).
    """
    tf = sys.modules["tensorflow"]
    try:
        serialized = tf.raw_ops.DatasetToGraphV2(
            input_dataset=tf.data.experimental.to_variant(dataset),
            external_state_policy=1,  # ExternalStatePolicy.IGNORE: stateful functions are kept by reference
            strip_device_assignment=True)
        graph = tf.compat.v1.GraphDef.FromString(serialized.numpy())
        for node in graph.node:
            if node.op != "Const" or node.attr["dtype"].type != tf.resource.as_datatype_enum:
                continue
            for handle in node.attr["value"].tensor.resource_handle_val:
                if "SeedGenerator" in handle.maybe_type_name:
                    handle.name = f"kerasdoctor-sample-{uuid.uuid4().hex}"
        variant = tf.raw_ops.DatasetFromGraph(graph_def=graph.SerializeToString())
        return tf.data.experimental.from_variant(variant, dataset.element_spec)
    except Exception:  # noqa: BLE001 - a dataset TensorFlow cannot serialize (over 2 GB, ...)
        return None


# Dataset kinds that draw random numbers from state shared by every iteration (``shuffle``,
# ``Dataset.random``, ``sample_from_datasets``, ``rejection_resample``), by class name.
_RANDOM_KINDS = ("Shuffle", "Random", "DirectedInterleave", "Resample")


def _walk(dataset):
    """(the bytes of the tensors ``dataset`` holds in memory: ``from_tensor_slices``,
    ``from_tensors``, tensors its functions capture, which a copy of its graph serializes;
    whether it holds random state shared by its iterations: a shuffle or random dataset, or a
    variable such as a ``tf.random.Generator``'s captured by a function), or None when its
    structure cannot be walked."""
    tf = sys.modules["tensorflow"]
    total, shared_random, seen, stack = 0, False, set(), [dataset]
    try:
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            shared_random = shared_random or any(kind in type(node).__name__ for kind in _RANDOM_KINDS)
            held = list(getattr(node, "_tensors", None) or [])
            for value in vars(node).values():  # a map's or filter's function and what it captures
                held += list(getattr(getattr(value, "function", None), "captured_inputs", None) or [])
            for tensor in held:
                if tensor.dtype == tf.resource:
                    shared_random = True
                elif tensor.dtype == tf.string:
                    total += int(tf.reduce_sum(tf.strings.length(tensor)).numpy())
                else:
                    total += (tensor.shape.num_elements() or 0) * tensor.dtype.size
            stack.extend(node._inputs())
    except Exception:  # noqa: BLE001 - a dataset of a kind that cannot be walked
        return None
    return total, shared_random


def _tf_dataset(dataset, max_rows, max_batches, seed):
    count = int(dataset.cardinality())
    batches = count if count >= 0 else None
    walked = _walk(dataset)
    worth_it = walked is not None and walked[1] and walked[0] <= MAX_COPY_BYTES
    copy = _with_own_random_state(dataset) if worth_it else None
    source = dataset if copy is None else copy
    with _random_state_kept():  # a from_generator or a py_function may draw from them
        read = _read(source.take(max_batches), "tf.data.Dataset", max_rows, max_batches)
    return _sample("tf.data", read, batches)


def _py_dataset(dataset, max_rows, max_batches, seed):
    batches = dataset.num_batches
    if batches is None:  # infinite: its first batches
        indices = range(max_batches)
    else:
        chosen = np.random.default_rng(seed).choice(batches, size=min(batches, max_batches), replace=False)
        indices = sorted(int(i) for i in chosen)
    with _random_state_kept():
        read = _read((dataset[i] for i in indices), "PyDataset", max_rows, max_batches)
    return _sample("PyDataset", read, batches)


def _torch_loader(loader, max_rows, max_batches, seed):
    try:
        batches = len(loader)
    except TypeError:  # an iterable dataset without a length
        batches = None
    sampler_generator = getattr(getattr(loader, "sampler", None), "generator", None)
    with _random_state_kept(getattr(loader, "generator", None), sampler_generator):
        iterator = iter(loader)
        try:
            read = _read(iterator, "DataLoader", max_rows, max_batches)
        finally:
            del iterator  # stops the loader's worker processes, if any
    return _sample("DataLoader", read, batches)


def _replay(first, rest, error=None):
    yield from first
    if error is not None:
        raise error  # the user's generator failed while keras-doctor read it: fit sees it fail there
    yield from rest


def _generator(generator, max_rows, max_batches, seed):
    if inspect.getgeneratorstate(generator) == inspect.GEN_CLOSED:
        raise KerasDoctorError("the generator is already exhausted.")
    raw = []
    try:
        read = _read(generator, "generator", max_rows, max_batches, raw)
        return _sample("generator", read, None, replacement=_replay(raw, generator))
    except Exception as error:  # noqa: BLE001 - whatever happened, fit must get every batch back
        failure = error if isinstance(error, KerasDoctorError) else KerasDoctorError(
            f"the generator raised {type(error).__name__} while its first batches were read.")
        failure.replacement = _replay(raw, generator, None if isinstance(error, KerasDoctorError) else error)
        raise failure from None


READERS = {"tf.data": _tf_dataset, "PyDataset": _py_dataset, "DataLoader": _torch_loader, "generator": _generator}
KINDS_HELP = "a tf.data.Dataset, a keras.utils.PyDataset, a torch DataLoader or a generator"


def fresh_generator(factory, what="the generator factory"):
    """``factory()``, checked to be a generator (a workload's generator factory)."""
    try:
        generator = factory()
    except Exception as error:  # noqa: BLE001 - the user's code: one clear line
        raise KerasDoctorError(f"{what} raised {type(error).__name__}: {error}") from None
    if not isinstance(generator, types.GeneratorType):
        raise KerasDoctorError(f"{what} must return a generator (a function with `yield`). "
                               f"Received: an object of type {type(generator).__name__}")
    return generator


def read_sample(value, *, max_rows=MAX_ROWS, max_batches=MAX_BATCHES, seed=0):
    """A ``Sample`` of the pipeline ``value`` (or of a fresh generator from a generator factory);
    raises ``KerasDoctorError`` when it cannot be read.

    A generator is advanced: pass ``sample.replacement`` to ``fit`` in its place.
    """
    if callable(value) and pipeline_kind(value) is None:
        sample = _generator(fresh_generator(value), max_rows, max_batches, seed)
        sample.replacement = None  # a factory makes a fresh generator for each fit
        return sample
    kind = pipeline_kind(value)
    if kind is None:
        raise KerasDoctorError(f"{type(value).__name__} is not a data pipeline keras-doctor reads ({KINDS_HELP}).")
    return READERS[kind](value, max_rows, max_batches, seed)


def sample_statistics(sample):
    """``summarize`` of a sample: the rows and batches read (and the batches per epoch, when
    known), not a total of samples, which a sample cannot tell."""
    y = sample.y if hasattr(sample.y, "shape") else None
    fields = summarize(sample.x, y)
    del fields["samples"]
    fields.update(sampled_rows=sample.rows, sampled_batches=sample.batches_read)
    if sample.batches is not None:
        fields["batches"] = sample.batches
    return fields


def repeat_batches(source):
    """A generator of ``source``'s batches, pass after pass (a generator gives its one pass):
    for a sweep of a fixed number of steps (``lr_find``) over a pipeline of any length."""
    kind = pipeline_kind(source)
    while True:
        if kind == "PyDataset":
            count = source.num_batches
            iterable = (source[i] for i in (range(count) if count is not None else itertools.count()))
        else:
            iterable = source if kind is not None else fresh_generator(source)
        yielded = False
        for batch in iterable:
            yielded = True
            yield batch
        if kind == "generator" or not yielded:
            return
