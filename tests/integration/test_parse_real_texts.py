"""Parsing rules measured on the real texts of the shared datasets."""


def test_sketch_prefilter_finds_exactly_what_the_full_comparison_finds(monkeypatch):
    """The fast path (sketch proposes, exact cosine decides, tile by tile) against the
    plain n x n comparison, on real SMS texts with edited copies planted among them."""
    import random

    import numpy as np
    import pandas as pd

    from synthlake.generation import similarity
    from synthlake.realdata import data_dir

    monkeypatch.setattr(similarity, "TILE", 128)  # several tiles, rows and columns
    real = pd.read_parquet(data_dir() / "sms_spam" / "train.parquet")["text"].tolist()
    rng = random.Random(7)
    texts = rng.sample(real, 700)
    for _ in range(80):  # one word swapped, another dropped: near, not exact, copies
        words = rng.choice(texts).split()
        if len(words) > 6:
            words[rng.randrange(len(words))] = "tomorrow"
            del words[rng.randrange(len(words))]
            texts.insert(rng.randrange(len(texts)), " ".join(words))
    eligible = np.array([rng.random() > 0.1 for _ in texts])
    matrix = similarity.vectors(texts)
    full = (matrix @ matrix.T).toarray()
    for threshold in (0.8, 0.9):
        expected = np.zeros(len(texts), dtype=bool)
        for i in range(len(texts)):
            earlier = eligible[:i] & ~expected[:i]
            expected[i] = eligible[i] and bool((full[i, :i][earlier] >= threshold).any())
        got = similarity.near_duplicate_flags(texts, threshold, eligible)
        assert expected.sum() > 10
        assert got.tolist() == expected.tolist()


def test_references_find_exactly_what_the_full_comparison_finds(monkeypatch):
    """A text matches real references (the test split, demonstrations) if equal after
    folding or at the threshold's cosine: the sketch-first path against every pair, on
    real SMS texts against other real ones, with edited copies of references planted."""
    import random

    import numpy as np
    import pandas as pd

    from synthlake.generation import similarity
    from synthlake.realdata import data_dir

    monkeypatch.setattr(similarity, "TILE", 128)  # several reference tiles
    monkeypatch.setattr(similarity, "PAIR_CHUNK", 50)  # several pair chunks
    real = pd.read_parquet(data_dir() / "sms_spam" / "train.parquet")["text"].tolist()
    rng = random.Random(11)
    pool = rng.sample(real, 1300)
    references, texts = pool[:900], pool[900:]
    for _ in range(60):
        words = rng.choice(references).split()
        if len(words) > 6:
            words[rng.randrange(len(words))] = "tomorrow"
            texts.append(" ".join(words))
    texts.append(references[0].upper() + "!")  # equal once folded
    full = (similarity.vectors(texts) @ similarity.vectors(references).T).toarray()
    found = similarity.References(references)
    for threshold in (0.8, 0.9):
        expected = (full >= threshold).any(axis=1)
        expected[-1] = True
        got = np.array(found.similar(texts, threshold))
        assert expected.sum() > 30
        assert got.tolist() == expected.tolist()
    assert similarity.References([]).similar(texts[:3], 0.9) == [False] * 3
    assert found.similar([], 0.9) == []


def test_the_meta_answer_rules_spare_real_texts():
    """Assistant talk, placeholders and repetition are rare in people's texts: on every
    shipped task's train split, under half a percent is flagged."""
    import pyarrow.parquet as pq

    from synthlake.catalog import load_catalog
    from synthlake.generation import parse
    from tests.support.data import SHARED_DATA

    for name, spec in load_catalog().items():
        texts = pq.read_table(SHARED_DATA / spec.data.local / "train.parquet",
                              columns=["text"]).column("text").to_pylist()
        flagged = sum(bool(parse.ASSISTANT_TALK.match(t) or parse.PLACEHOLDER.search(t)
                           or parse.repetitive(t)) for t in texts)
        assert flagged / len(texts) < 0.005, (name, flagged)
