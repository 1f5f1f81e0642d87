"""Every bad workload input is one KerasDoctorError with a clear message; files are untouched."""

import numpy as np
import pytest

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.workload import load_workload


def _load_everything(path, **kwargs):
    workload = load_workload(path, **kwargs)
    workload.load_data()
    workload.build_model()
    return workload


BAD_WORKLOADS = {
    "syntax error": ("def build_model(:\n    pass\n", r"Syntax error in the workload .*workload\.py, line 1"),
    "import error": ("import numpy\nraise RuntimeError('boom')\n", r"Importing the workload failed at .*workload\.py:2: RuntimeError: boom"),
    "no build_model": ("def load_data():\n    return [1], [1]\n", r"does not define build_model\(\)"),
    "no load_data": ("def build_model(hp=None):\n    return None\n", r"does not define load_data\(\)"),
    "not a model": (
        "import numpy as np\ndef build_model(hp=None):\n    return 42\n"
        "def load_data():\n    return np.zeros((10, 2)), np.zeros(10)\n",
        r"build_model\(\) must return a keras.Model. Received: an object of type int",
    ),
    "uncompiled": (
        "import keras, numpy as np\ndef build_model(hp=None):\n"
        "    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])\n"
        "def load_data():\n    return np.zeros((10, 2)), np.zeros(10)\n",
        r"not compiled\. Call model\.compile",
    ),
    "build_model raises": (
        "import numpy as np\ndef build_model(hp=None):\n    raise ValueError('bad units')\n"
        "def load_data():\n    return np.zeros((10, 2)), np.zeros(10)\n",
        r"build_model\(\) failed at .*workload\.py:3: ValueError: bad units",
    ),
    "wrong structure": (
        "def build_model(hp=None):\n    pass\ndef load_data():\n    return 'x'\n",
        r"load_data\(\) must return .* Received: an object of type str",
    ),
    "length mismatch": (
        "import numpy as np\ndef build_model(hp=None):\n    pass\n"
        "def load_data():\n    return (np.zeros((10, 2)), np.zeros(9)), (np.zeros((4, 2)), np.zeros(4))\n",
        r"x_train and y_train must hold the same number of samples\. Received: x_train with 10 samples and y_train with 9",
    ),
    "empty data": (
        "import numpy as np\ndef build_model(hp=None):\n    pass\n"
        "def load_data():\n    return (np.zeros((0, 2)), np.zeros(0)), (np.zeros((4, 2)), np.zeros(4))\n",
        r"x_train is empty",
    ),
    "ragged data": (
        "def build_model(hp=None):\n    pass\ndef load_data():\n    return [[1, 2], [3], [4, 5]], [0, 1, 0]\n",
        r"x cannot be turned into an array|x holds Python objects",
    ),
    "bad FIT": (
        "FIT = {'epoch': 3}\ndef build_model(hp=None):\n    pass\ndef load_data():\n    pass\n",
        r"FIT in .* has keys keras-doctor does not pass to fit: \['epoch'\]",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_WORKLOADS))
def test_bad_workload_gives_one_clear_error(case, write_workload):
    source, message = BAD_WORKLOADS[case]
    path = write_workload(source)
    with pytest.raises(KerasDoctorError, match=message) as raised:
        _load_everything(path)
    assert "\n" not in str(raised.value)


def test_missing_workload_file_is_reported(tmp_path):
    with pytest.raises(KerasDoctorError, match="Workload file not found"):
        load_workload(tmp_path / "nope.py")


def test_unsupported_extension_is_reported(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"x")
    with pytest.raises(KerasDoctorError, match=r"Unsupported workload .*'\.h5' extension"):
        load_workload(path)


def test_loading_a_workload_leaves_its_folder_unchanged(write_workload, healthy_source):
    path = write_workload(healthy_source)
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    workload = _load_everything(path)
    assert workload.fit == {"epochs": 2, "batch_size": 16}
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before


def test_x_y_data_gets_a_seeded_stratified_split(write_workload, healthy_source):
    workload = load_workload(write_workload(healthy_source))
    first, second = workload.load_data(seed=3), workload.load_data(seed=3)
    assert first.split == "stratified"
    assert len(first.y_train) == 96 and len(first.y_val) == 24
    np.testing.assert_array_equal(first.x_val, second.x_val)
    assert abs(first.y_val.mean() - first.y_train.mean()) < 0.05


def test_continuous_targets_get_a_random_split(write_workload):
    path = write_workload(
        "import numpy as np\ndef build_model(hp=None):\n    pass\n"
        "def load_data():\n    return np.ones((50, 3)), np.linspace(0, 1, 50)\n"
    )
    assert load_workload(path).load_data().split == "random"


def test_nan_in_inputs_is_not_an_error(write_workload):
    path = write_workload(
        "import numpy as np\ndef build_model(hp=None):\n    pass\n"
        "def load_data():\n    x = np.ones((20, 3)); x[0, 0] = np.nan\n    return x, np.arange(20) % 2\n"
    )
    data = load_workload(path).load_data()
    assert np.isnan(data.x_train).sum() + np.isnan(data.x_val).sum() == 1


def test_build_model_receives_hp_only_when_it_accepts_it(write_workload):
    path = write_workload(
        "import keras, numpy as np\nseen = []\n"
        "def build_model():\n"
        "    m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])\n"
        "    m.compile('sgd', 'mse')\n    return m\n"
        "def load_data():\n    return np.zeros((10, 2)), np.zeros(10)\n"
    )
    assert load_workload(path).build_model() is not None


class TestSavedModels:
    def _save(self, tmp_path, lambda_layer=False):
        import keras

        layers = [keras.Input((3,)), keras.layers.Dense(2, activation="softmax")]
        if lambda_layer:
            layers.insert(1, keras.layers.Lambda(lambda t: t * 2.0))
        model = keras.Sequential(layers)
        model.compile("adam", "sparse_categorical_crossentropy")
        path = tmp_path / "model.keras"
        model.save(path)
        return path

    def _npz(self, tmp_path, **arrays):
        path = tmp_path / "data.npz"
        np.savez(path, **arrays)
        return path

    def test_saved_model_with_npz_data_loads(self, tmp_path):
        model_path = self._save(tmp_path)
        data_path = self._npz(tmp_path, x_train=np.zeros((20, 3), "float32"), y_train=np.arange(20) % 2)
        workload = _load_everything(model_path, data=data_path)
        assert workload.load_data().split == "stratified"

    def test_saved_model_needs_data(self, tmp_path):
        with pytest.raises(KerasDoctorError, match="pass its data with --data"):
            load_workload(self._save(tmp_path))

    def test_corrupt_keras_file_is_reported(self, tmp_path):
        path = tmp_path / "broken.keras"
        path.write_bytes(b"not a zip at all")
        data_path = self._npz(tmp_path, x_train=np.zeros((4, 3)), y_train=np.zeros(4))
        with pytest.raises(KerasDoctorError, match="not a readable .keras file"):
            load_workload(path, data=data_path)

    def test_model_needing_unsafe_deserialization_suggests_unsafe(self, tmp_path):
        model_path = self._save(tmp_path, lambda_layer=True)
        data_path = self._npz(tmp_path, x_train=np.zeros((4, 3)), y_train=np.zeros(4))
        with pytest.raises(KerasDoctorError, match="--unsafe"):
            load_workload(model_path, data=data_path)
        assert load_workload(model_path, data=data_path, unsafe=True).build_model() is not None

    def test_npz_without_training_arrays_is_reported(self, tmp_path):
        model_path = self._save(tmp_path)
        data_path = self._npz(tmp_path, x=np.zeros((4, 3)))
        with pytest.raises(KerasDoctorError, match=r"lacks \['x_train', 'y_train'\]"):
            load_workload(model_path, data=data_path)


def test_a_dict_of_labels_for_a_multi_output_model_is_split_row_for_row():
    from kerasdoctor.workload.data import validate

    x = np.arange(40, dtype="float32").reshape(20, 2)
    y = {"digit": np.arange(20) % 2, "ink": np.arange(20, dtype="float32")}
    data = validate((x, y), seed=0)
    assert data.split == "random" and set(data.y_train) == {"digit", "ink"}
    assert len(data.y_train["ink"]) == 16 and len(data.y_val["digit"]) == 4
    # The rows stay together: each sample's labels follow its inputs.
    np.testing.assert_array_equal(data.x_train[:, 0] / 2, data.y_train["ink"])
    np.testing.assert_array_equal(data.y_val["digit"], data.y_val["ink"].astype(int) % 2)
    given = validate(((x, y), (x[:4], {k: v[:4] for k, v in y.items()})))
    assert given.split == "given" and given.fit_arguments()["y"] is given.y_train
