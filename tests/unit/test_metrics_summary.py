from kerasdoctor.checkup import summarize_metrics
from kerasdoctor.runlog import RunLog


def test_best_is_the_minimum_for_losses_and_errors_and_the_maximum_for_accuracy():
    log = RunLog()
    for epoch, (loss, mae, acc) in enumerate([(1.0, 0.9, 0.5), (0.4, 0.3, 0.8), (0.6, 0.5, 0.7)]):
        log.append("epoch", epoch=epoch, step=epoch, seconds=1.0,
                   logs={"loss": loss, "val_mae": mae, "val_root_mean_squared_error": mae, "accuracy": acc})
    metrics = summarize_metrics(log)
    assert metrics["best"] == {"loss": 0.4, "val_mae": 0.3, "val_root_mean_squared_error": 0.3, "accuracy": 0.8}
    assert metrics["final"]["loss"] == 0.6 and metrics["epochs"] == 3
