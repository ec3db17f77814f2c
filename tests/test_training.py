"""Training and evaluation on tiny synthetic data: the loss falls, a separable task is learned, and the
checkpoint records its metrics, provenance, hyperparameters and time. Shipped models are never retrained."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz import calibration, evaluate, train
from rnnviz.embeddings import pretrain_vectors

POSITIVE = "good great superb lovely fun".split()
NEGATIVE = "bad awful dull boring poor".split()
FILLER = "the film was a story and it plot".split()


def toy_rows(n: int, seed: int) -> list[tuple[str, int]]:
    """Sentences whose label is decided by one sentiment word hidden among filler words."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        label = rng.randrange(2)
        words = [rng.choice(FILLER) for _ in range(rng.randrange(2, 9))]
        words.insert(rng.randrange(len(words) + 1), rng.choice(POSITIVE if label else NEGATIVE))
        rows.append((" ".join(words), label))
    return rows


def write_tsv(path, rows) -> None:
    path.write_text("sentence\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in rows))


def toy_tree(rng: random.Random, label: int, negated: bool) -> str:
    """An SST-style tree: "(L (2 (2 the) (2 film)) (L (2 was) ...))", the sentiment word perhaps negated."""
    word = rng.choice(POSITIVE if label != negated else NEGATIVE)
    polar = f"({3 if label != negated else 1} {word})"
    core = f"({3 if label else 1} (2 not) {polar})" if negated else polar
    final = 3 if label else 1
    return f"({final} (2 (2 the) (2 {rng.choice(['film', 'plot', 'story'])})) ({final} (2 was) {core}))"


def write_trees(path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(toy_tree(rng, rng.randrange(2), rng.random() < 0.3) + "\n" for _ in range(n)))


@pytest.fixture
def toy_files(tmp_path):
    write_tsv(tmp_path / "train.tsv", toy_rows(600, 1))
    write_tsv(tmp_path / "dev.tsv", toy_rows(100, 2))
    write_tsv(tmp_path / "test.tsv", toy_rows(100, 3))
    write_trees(tmp_path / "sst" / "trees" / "train.txt", 300, 4)  # the --data-root's SST trees
    write_trees(tmp_path / "sst" / "trees" / "dev.txt", 60, 5)
    return tmp_path


def train_args(toy_files, cell, extra=()):
    return ["--cell", cell, "--data", "sst2", "--out", str(toy_files / f"toy-{cell}"), "--data-root", str(toy_files),
            "--train", str(toy_files / "train.tsv"), "--dev", str(toy_files / "dev.tsv"),
            "--test", str(toy_files / "test.tsv"), "--no-pretrain-embeddings", "--embedding-dim", "16",
            "--hidden-size", "16", "--epochs", "6", "--batch-size", "16", "--lr", "0.01", "--dropout", "0.0",
            "--threads", "1", "--flip-oversample", "0", "--counterfactuals", "0", *extra]


def test_a_tiny_model_learns_a_separable_task_and_its_loss_falls(toy_files, cell):
    model = train.train(train.parse_args(train_args(toy_files, cell)))
    history = model.info.training["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"] / 2
    assert model.info.metrics["dev_accuracy"] >= 0.95
    assert model.info.metrics["test_accuracy"] >= 0.95
    assert model.predict_proba(["the film was superb", "the plot was awful"]).argmax(1).tolist() == [1, 0]


def test_the_cli_writes_a_checkpoint_that_records_how_it_was_made(toy_files):
    assert train.main(train_args(toy_files, "gru", ["--epochs", "2"])) == 0
    document = json.loads((toy_files / "toy-gru.json").read_text())
    training = document["training"]
    assert document["metrics"]["test_accuracy"] > 0.5
    assert training["command"].startswith("python -m rnnviz.train --cell gru")
    assert training["hyperparameters"]["hidden_size"] == 16 and training["hyperparameters"]["seed"] == 13
    assert training["train_seconds"] > 0 and training["parameters"] > 0
    provenance = training["provenance"]
    assert len(provenance["train_sha256"]) == 64 and provenance["train_texts_used"] > 0
    assert rnnviz.load(toy_files / "toy-gru.safetensors").cell == "gru"


def test_training_texts_that_also_occur_in_dev_or_test_are_dropped(toy_files):
    rows = toy_rows(50, 9)
    write_tsv(toy_files / "train.tsv", rows + toy_rows(5, 3)[:5])  # five test sentences leak into train
    args = train.parse_args(train_args(toy_files, "lstm"))
    splits = train.load_splits(args)
    test_keys = {t.lower() for t in splits.test.texts}
    assert not any(t.lower() in test_keys for t in splits.train.texts)
    assert splits.provenance["dropped_train_texts_also_in_dev_or_test"] >= 5


def test_without_a_test_score_training_still_drops_the_test_texts(toy_files):
    write_tsv(toy_files / "train.tsv", toy_rows(50, 9) + toy_rows(5, 3)[:5])  # five test sentences leak into train
    args = train.parse_args(train_args(toy_files, "gru", ["--no-test", "--epochs", "1"]))
    assert train.load_splits(args).provenance["dropped_train_texts_also_in_dev_or_test"] >= 5
    model = train.train(args)
    assert "test_accuracy" not in model.info.metrics


def test_the_same_seed_gives_the_same_model(toy_files):
    first = train.train(train.parse_args(train_args(toy_files, "lstm", ["--epochs", "1"])))
    second = train.train(train.parse_args(train_args(toy_files, "lstm", ["--epochs", "1"])))
    for name, tensor in first.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), second.state_dict()[name].numpy())


def test_pretrained_vectors_put_words_used_alike_close_together():
    rng = random.Random(0)
    corpus = []
    for _ in range(3000):
        corpus.append(["a", rng.choice(["good", "great"]), "film", "indeed"])
        corpus.append(["the", rng.choice(["table", "chair"]), "stands", "there"])
    words, vectors = pretrain_vectors(corpus, dim=4, window=2, min_count=1)
    index = {w: i for i, w in enumerate(words)}
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similar = unit[index["good"]] @ unit[index["great"]]
    different = unit[index["good"]] @ unit[index["table"]]
    assert vectors.shape == (len(words), 4) and similar > different


def test_evaluation_reports_accuracy_and_a_confusion_matrix(toy_files, capsys):
    train.main(train_args(toy_files, "lstm"))
    assert evaluate.main(["--model", str(toy_files / "toy-lstm.safetensors"), "--data", str(toy_files / "test.tsv")]) == 0
    report = capsys.readouterr().out
    assert "accuracy" in report and "confusion matrix" in report
    model = rnnviz.load(toy_files / "toy-lstm.safetensors")
    result = evaluate.evaluate(model, ["the film was great", "the film was bad"], [1, 0])
    assert result["accuracy"] == 1.0 and result["confusion"] == [[1, 0], [0, 1]]


def test_the_sst_pipeline_trains_on_every_tree_node_with_negation_help_and_calibrates(toy_files):
    trees = toy_files / "sst" / "trees"
    args = train.parse_args(train_args(toy_files, "lstm", [
        "--train", str(trees / "train.txt"), "--flip-oversample", "3", "--counterfactuals", "20", "--epochs", "8"]))
    splits = train.load_splits(args)
    assert splits.train.targets is not None and 0.5 in splits.train.targets  # neutral phrases train towards 0.5
    assert "the" in splits.train.texts and any(t.startswith("not ") for t in splits.train.texts)
    added = splits.provenance["added_training_texts"]
    assert any("negation flips x3" in source for source in added) and any("negated" in s for s in added)

    model = train.train(args)
    metrics = model.info.metrics
    assert metrics["temperature"] > 0 and 0 <= metrics["dev_ece"] <= 1
    assert {"test_ece", "test_ece_before_calibration", "negation_probe_accuracy", "dev_sst_negation_all",
            "dev_line_after_neutral_opening", "dev_steps_at_99_percent"} <= set(metrics)
    reports = model.info.training["reports"]
    assert reports["negation_probe"]["all"]["n"] == 60 and "negated" in reports["negation_probe"]
    ok, bad, neutral = model.predict_proba(["the film was not bad", "the film was not good", "the"])[:, 1]
    assert ok > 0.5 > bad and abs(neutral - 0.5) < 0.2


def test_temperature_scaling_fits_overconfident_logits_and_lowers_calibration_error():
    rng = np.random.default_rng(0)
    log_odds = rng.normal(0.0, 2.0, 20000)  # a calibrated model: labels drawn with exactly its probabilities...
    labels = (rng.random(20000) < 1 / (1 + np.exp(-log_odds))).astype(int)
    overconfident = np.stack([np.zeros(20000), log_odds], axis=1) * 4.0  # ...shown four times too sharp
    temperature = calibration.fit_temperature(overconfident, labels)
    assert 3.5 < temperature < 4.5
    before = calibration.expected_calibration_error(calibration.softmax(overconfident), labels)
    after = calibration.expected_calibration_error(calibration.softmax(overconfident / temperature), labels)
    assert after < before / 2


def test_evaluation_can_report_how_a_model_reads_and_record_it_in_the_checkpoint(toy_files, capsys):
    train.main(train_args(toy_files, "gru", ["--epochs", "2"]))
    weights = str(toy_files / "toy-gru.safetensors")
    trees = str(toy_files / "sst" / "trees" / "dev.txt")
    assert evaluate.main(["--model", weights, "--data", str(toy_files / "test.tsv"), "--reading",
                          "--sst-trees", trees, "--record"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {"test", "negation_probe", "test_sst_negation"} <= set(printed)
    metrics = rnnviz.load(weights).info.metrics
    assert metrics["test_file"] == str((toy_files / "test.tsv").resolve())
    assert metrics["test_sst_negation_all"] == printed["test_sst_negation"]["all"]["accuracy"]
    assert metrics["negation_probe_accuracy"] == printed["negation_probe"]["all"]["accuracy"]


def test_a_score_of_part_of_the_test_file_is_never_recorded(toy_files):
    train.main(train_args(toy_files, "gru", ["--epochs", "1"]))
    with pytest.raises(SystemExit):
        evaluate.main(["--model", str(toy_files / "toy-gru.safetensors"), "--data", str(toy_files / "test.tsv"),
                       "--reading", "--record", "--limit", "10"])


def test_the_pipeline_with_word_vector_pretraining_runs_end_to_end_in_seconds(toy_files):
    model = train.train(train.parse_args(train_args(toy_files, "gru", [
        "--pretrain-embeddings", "--embedding-corpus", str(toy_files / "train.tsv"), "--embedding-dim", "8",
        "--cache", str(toy_files / "cache")])))
    assert list((toy_files / "cache").glob("vectors-*.npz")), "the word vectors were learned and cached"
    assert model.info.training["embedding_corpus"] == [str(toy_files / "train.tsv")]
    assert model.info.metrics["dev_accuracy"] >= 0.9


def test_a_moving_average_of_the_weights_is_what_dev_judges_and_the_model_keeps(toy_files):
    """The same seed with and without the average: the same raw training, other weights kept, both learn."""
    plain = train.train(train.parse_args(train_args(toy_files, "gru")))
    averaged = train.train(train.parse_args(train_args(toy_files, "gru", ["--weight-average", "0.9"])))
    assert averaged.info.training["hyperparameters"]["weight_average"] == 0.9
    assert not torch.equal(averaged.rnn.weight_hh_l0, plain.rnn.weight_hh_l0)
    assert averaged.info.metrics["dev_accuracy"] >= 0.95
    assert averaged.predict_proba(["the film was superb", "the plot was awful"]).argmax(1).tolist() == [1, 0]
    with pytest.raises(SystemExit):
        train.parse_args(train_args(toy_files, "gru", ["--weight-average", "1.0"]))


def test_language_model_pretraining_learns_to_predict_the_next_word():
    """A corpus where every word decides the next: the recurrent layer learns it far below the vocabulary's size."""
    from rnnviz import lm
    from rnnviz.model import ModelConfig, ModelInfo, SentimentModel
    from rnnviz.text import Vocabulary

    vocab = Vocabulary(("<pad>", "<unk>", *"the film was good and fun".split()))
    model = SentimentModel(ModelConfig(cell="gru", vocab_size=len(vocab), embedding_dim=8, hidden_size=16),
                           vocab, ModelInfo(labels=["negative", "positive"]))
    texts = [vocab.encode("the film was good and fun".split())] * 200
    head_before, rnn_before = model.head.weight.detach().clone(), model.rnn.weight_hh_l0.detach().clone()
    report = lm.pretrain(model, texts, epochs=40, lr=0.02, seed=0, show_progress=False)
    assert report.tokens == 1200 and report.final_perplexity < 2 < len(vocab)
    assert not torch.equal(model.rnn.weight_hh_l0, rnn_before), "the recurrent layer learned"
    assert torch.equal(model.head.weight, head_before), "the classifier's head is not the language model's"


def test_the_sst_pipeline_with_language_model_pretraining_runs_end_to_end_and_records_it(toy_files, monkeypatch):
    pretrained = []

    def pretrain_and_note(model, *args, **kwargs):
        report = real_pretrain(model, *args, **kwargs)
        pretrained.append(model)
        return report

    real_pretrain = train.lm.pretrain
    monkeypatch.setattr(train.lm, "pretrain", pretrain_and_note)
    model = train.train(train.parse_args(train_args(toy_files, "lstm", [
        "--embedding-corpus", str(toy_files / "train.tsv"), "--lm-epochs", "2"])))
    assert pretrained == [model], "the classifier goes on from the language model's weights"
    report = model.info.training["language_model"]
    assert report["epochs"] == 2 and report["tokens"] > 3000 and report["final_perplexity"] > 0
    assert model.info.training["hyperparameters"]["lm_epochs"] == 2
    assert model.info.metrics["dev_accuracy"] >= 0.9
