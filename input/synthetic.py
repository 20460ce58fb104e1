"""A synthetic recommendation world with known ground truth, the garden's default data.

Users (age bucket, gender, city) each hold a few long-term interests (categories), drawn partly
from their demographics. They browse in sessions (a new session after more than 30 idle
minutes); a session's short-term intent is one of their interests and drifts among them. Items
(category, brand, shop, price bucket) have Zipf popularity; item ids are popularity ranks
(1 = most popular, 0 = padding), as in vocabularies built by frequency.

Two datasets come out of one world:
- ranking: impressions shown at a point of a user's timeline, with the behaviour history before
  it. The click probability `true_ctr` is a known logistic model: item quality and popularity,
  user bias, crosses (age x price, gender x category, city x shop, user x interest category)
  and the recent behaviour (share of the last 5 events in the candidate's category, brand seen
  in the last 10). A conversion (`true_cvr`) can only happen after a click.
- retrieval: one example per browsing event: user features, the items of the current session
  before it (short-term), the items of earlier sessions (long-term), the whole recent history,
  and the target item with its side information.

The ranking history also carries `hist_session_id`, the session of each history event counted
back from the impression (1 = the most recent session of the history, 2 = the one before...),
so that session models (DSIN) can split it; ids stay valid when a reader keeps only the most
recent events.

Everything is vectorized numpy and deterministic for a seed.
"""
import dataclasses
import os

import numpy as np

from input.specs import FeatureSpec, Schema

SESSION_GAP_SECONDS = 30 * 60


@dataclasses.dataclass(frozen=True)
class WorldConfig:
    num_users: int = 7500
    num_items: int = 4000
    num_categories: int = 40
    brands_per_category: int = 10
    num_shops: int = 400
    num_cities: int = 30
    num_ages: int = 7
    num_price_buckets: int = 10
    interests_per_user: int = 3
    events_per_user: float = 100.0  # mean browsing events (retrieval examples) per user
    impressions_per_user: float = 100.0  # mean ranking examples per user
    session_length: float = 6.0  # mean events per session
    drift: float = 0.2  # chance per event that the session intent moves to another interest
    explore: float = 0.05  # chance per event of browsing outside the user's interests
    zipf: float = 0.8
    short_len: int = 10
    long_len: int = 50
    hist_len: int = 50
    seed: int = 0

    @classmethod
    def for_size(cls, num_examples, seed=0):
        """A world with about `num_examples` ranking and as many retrieval examples."""
        if num_examples < 500:
            raise ValueError(f"num_examples must be >= 500, got {num_examples}")
        num_items = int(np.clip(num_examples // 75, 200, 4000))
        return cls(num_users=max(5, num_examples // 100), num_items=num_items,
                   num_categories=int(np.clip(num_items // 100, 8, 40)),
                   num_shops=int(np.clip(num_items // 10, 20, 400)), seed=seed)


@dataclasses.dataclass
class World:
    """Latent and observable state of one generated world (arrays indexed by id; row 0 unused)."""
    config: WorldConfig
    # items
    item_pop: np.ndarray
    item_cat: np.ndarray
    item_brand: np.ndarray
    item_shop: np.ndarray
    item_price_bucket: np.ndarray
    item_price: np.ndarray
    item_quality: np.ndarray
    shop_city: np.ndarray
    # users
    user_age: np.ndarray
    user_gender: np.ndarray
    user_city: np.ndarray
    user_bias: np.ndarray
    user_interests: np.ndarray  # [U+1, K] category ids
    user_interest_weights: np.ndarray  # [U+1, K], rows sum to 1
    # crosses of the click model
    age_price: np.ndarray
    gender_cat: np.ndarray
    age_price_cvr: np.ndarray
    # browsing events, sorted by user then time
    event_user: np.ndarray
    event_item: np.ndarray
    event_time: np.ndarray
    event_intent: np.ndarray
    user_start: np.ndarray  # [U+1] index of each user's first event


def generate_world(config):
    c = config
    rng = np.random.default_rng(c.seed)
    n_items, n_users = c.num_items, c.num_users
    # Items: id = popularity rank.
    ranks = np.arange(1, n_items + 1)
    item_pop = np.concatenate([[0.0], 1.0 / ranks ** c.zipf])
    item_cat = np.concatenate([[0], rng.integers(1, c.num_categories + 1, n_items)])
    item_brand = np.concatenate([[0], (item_cat[1:] - 1) * c.brands_per_category
                                 + rng.integers(1, c.brands_per_category + 1, n_items)])
    item_shop = np.concatenate([[0], rng.integers(1, c.num_shops + 1, n_items)])
    cat_price_level = rng.uniform(0, 3, c.num_categories + 1)
    log_price = cat_price_level[item_cat] + rng.normal(0, 0.6, n_items + 1)
    edges = np.quantile(log_price[1:], np.linspace(0, 1, c.num_price_buckets + 1)[1:-1])
    item_price_bucket = np.searchsorted(edges, log_price) + 1
    item_price_bucket[0] = 0
    item_price = ((log_price - log_price[1:].mean()) / log_price[1:].std()).astype(np.float32)
    item_price[0] = 0
    item_quality = rng.normal(0, 0.5, n_items + 1)
    shop_city = rng.integers(1, c.num_cities + 1, c.num_shops + 1)

    # Users: interests drawn from demographic preferences plus personal taste.
    user_age = np.concatenate([[0], rng.integers(1, c.num_ages + 1, n_users)])
    user_gender = np.concatenate([[0], rng.integers(1, 3, n_users)])
    user_city = np.concatenate([[0], rng.integers(1, c.num_cities + 1, n_users)])
    user_bias = rng.normal(0, 0.15, n_users + 1)
    demo_pref = rng.normal(0, 2.0, (c.num_ages + 1, 3, c.num_categories))
    taste = demo_pref[user_age, user_gender] + rng.gumbel(size=(n_users + 1, c.num_categories))
    user_interests = np.argsort(-taste, axis=1)[:, :c.interests_per_user] + 1
    user_interest_weights = rng.dirichlet(np.full(c.interests_per_user, 2.0), n_users + 1)

    # Crosses centred per item attribute: no item gains on average, so item popularity
    # alone cannot explain them.
    age_price = rng.normal(0, 1.3, (c.num_ages + 1, c.num_price_buckets + 1))
    age_price -= age_price[1:].mean(axis=0)
    gender_cat = rng.normal(0, 1.3, (3, c.num_categories + 1))
    gender_cat -= gender_cat[1:].mean(axis=0)
    age_price_cvr = rng.normal(0, 0.5, (c.num_ages + 1, c.num_price_buckets + 1))

    # Browsing events.
    counts = np.maximum(2, rng.poisson(c.events_per_user, n_users))
    event_user = np.repeat(np.arange(1, n_users + 1), counts)
    n_events = len(event_user)
    user_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    user_start = np.concatenate([[0], user_start])  # row 0 unused
    first = np.zeros(n_events, bool)
    first[user_start[1:]] = True
    new_session = first | (rng.random(n_events) < 1.0 / c.session_length)
    new_segment = new_session | (rng.random(n_events) < c.drift)
    segment = np.cumsum(new_segment) - 1
    segment_user = event_user[new_segment]
    pick = _sample_rows(rng, user_interest_weights[segment_user])
    segment_intent = user_interests[segment_user, pick]
    event_intent = segment_intent[segment]
    explore = rng.random(n_events) < c.explore
    event_cat = np.where(explore, rng.integers(1, c.num_categories + 1, n_events), event_intent)
    event_item = _sample_items_in_category(rng, event_cat, item_cat, item_pop)

    gaps = np.where(new_session,
                    SESSION_GAP_SECONDS + 60 + rng.exponential(20 * 3600, n_events),
                    np.minimum(rng.exponential(180, n_events), SESSION_GAP_SECONDS - 60) + 5)
    gaps[first] = rng.uniform(0, 10 * 86400, n_users)
    cumulative = np.cumsum(gaps)
    base = cumulative[user_start[1:]] - gaps[user_start[1:]]
    event_time = (cumulative - np.repeat(base, counts)).astype(np.int64) + 1_600_000_000

    return World(config, item_pop, item_cat, item_brand, item_shop, item_price_bucket,
                 item_price, item_quality, shop_city, user_age, user_gender, user_city,
                 user_bias, user_interests, user_interest_weights, age_price, gender_cat,
                 age_price_cvr, event_user, event_item, event_time, event_intent, user_start)


def _sample_rows(rng, probs):
    """One column index per row of a [N, K] matrix of probabilities."""
    u = rng.random(len(probs))[:, None]
    return np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), probs.shape[1] - 1)


def _sample_items_in_category(rng, cats, item_cat, item_pop):
    """For each category in `cats`, an item of that category drawn by popularity."""
    order = np.argsort(item_cat[1:], kind="stable") + 1  # item ids grouped by category
    cumulative = np.cumsum(item_pop[order])
    n_cats = item_cat.max()
    start = np.searchsorted(item_cat[order], np.arange(n_cats + 2))
    below = np.concatenate([[0.0], cumulative])[start]  # mass before each category
    mass = below[1:] - below[:-1]
    target = below[cats] + rng.random(len(cats)) * mass[cats]
    idx = np.searchsorted(cumulative, target, side="right")
    idx = np.clip(idx, start[cats], start[cats + 1] - 1)
    return order[idx]


def session_starts(event_user, event_time):
    """Index of the first event of each event's session (30 idle minutes start a new one)."""
    n = len(event_user)
    new = np.ones(n, bool)
    new[1:] = (event_user[1:] != event_user[:-1]) | (
        event_time[1:] - event_time[:-1] > SESSION_GAP_SECONDS)
    return np.maximum.accumulate(np.where(new, np.arange(n), 0))


def _windows(values, start, end, length):
    """values[start:end] per row, the last `length` of them, as (padded [N, length], lengths)."""
    begin = np.maximum(start, end - length)
    lengths = end - begin
    idx = begin[:, None] + np.arange(length)[None, :]
    valid = np.arange(length)[None, :] < lengths[:, None]
    padded = np.where(valid, values[np.where(valid, idx, 0)], 0)
    return padded, lengths


def click_terms(world, users, items, history_items, history_lengths):
    """The additive terms of the known click model's logit, by name (see click_logit)."""
    w = world
    cats = w.item_cat[items]
    recent5 = _last(history_items, history_lengths, 5)
    recent_share = (w.item_cat[recent5] == cats[:, None]).sum(1) / np.maximum(
        np.minimum(history_lengths, 5), 1)
    recent10 = _last(history_items, history_lengths, 10)
    brand_seen = (w.item_brand[recent10] == w.item_brand[items][:, None]).any(1)
    interest = (w.user_interests[users] == cats[:, None]) * w.user_interest_weights[users]
    log_pop = np.log(w.item_pop[items]) / np.log(w.config.num_items) + 1.0  # 1 top, 0 tail
    return {
        "bias": np.full(len(items), -2.6),
        "item": 0.7 * w.item_quality[items] + 0.8 * log_pop,
        "user": w.user_bias[users],
        "age_x_price": w.age_price[w.user_age[users], w.item_price_bucket[items]],
        "gender_x_category": w.gender_cat[w.user_gender[users], cats],
        "city_x_shop": 1.5 * (w.shop_city[w.item_shop[items]] == w.user_city[users]),
        "interest": 1.0 * interest.sum(1),
        "recent_category": 0.8 * recent_share,
        "recent_brand": 0.3 * brand_seen,
    }


def click_logit(world, users, items, history_items, history_lengths):
    """The known click model (logit) for users seeing items after a history (oldest first)."""
    return sum(click_terms(world, users, items, history_items, history_lengths).values())


def conversion_logit(world, users, items):
    w = world
    return (-1.0 + 0.6 * w.item_quality[items] - 0.15 * (w.item_price_bucket[items] - 5)
            + w.age_price_cvr[w.user_age[users], w.item_price_bucket[items]])


def _last(padded, lengths, k):
    """The last k items of left-aligned padded rows, padding as 0."""
    idx = lengths[:, None] - k + np.arange(k)[None, :]
    valid = idx >= 0
    return np.where(valid, np.take_along_axis(padded, np.maximum(idx, 0), axis=1), 0)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _user_columns(world, users):
    return {"user_id": users, "age": world.user_age[users], "gender": world.user_gender[users],
            "city": world.user_city[users]}


def _item_columns(world, items, prefix=""):
    return {f"{prefix}item_id": items, f"{prefix}cat_id": world.item_cat[items],
            f"{prefix}brand_id": world.item_brand[items],
            f"{prefix}shop_id": world.item_shop[items]}


def history_sessions(world, start, end, length):
    """Session ids of the history windows of `_windows(event_item, start, end, length)`:
    1 for events of the window's most recent session, 2 for the session before, ...; 0 pads."""
    w = world
    session = session_starts(w.event_user, w.event_time)
    # Number every event's session within its user (1 = the user's first session), then
    # count back from the session of each window's last event.
    ordinal = np.cumsum(session == np.arange(len(session)))
    padded, lengths = _windows(ordinal, start, end, length)
    last = ordinal[np.maximum(end - 1, 0)]
    return np.where(np.arange(length)[None, :] < lengths[:, None],
                    last[:, None] - padded + 1, 0)


def ranking_examples(world, seed_offset=1):
    """Columns of the ranking dataset and a boolean test mask (the last 10% of time)."""
    w, c = world, world.config
    rng = np.random.default_rng([c.seed, seed_offset])
    counts = np.bincount(w.event_user, minlength=c.num_users + 1)[1:]
    n_imp = np.maximum(1, rng.poisson(c.impressions_per_user, c.num_users))
    users = np.repeat(np.arange(1, c.num_users + 1), n_imp)
    n = len(users)
    pos = w.user_start[users] + (rng.random(n) * counts[users - 1]).astype(np.int64)
    intent = w.event_intent[pos]
    other = w.user_interests[users, _sample_rows(rng, w.user_interest_weights[users])]
    source = rng.random(n)
    cats = np.where(source < 0.55, intent, other)
    items = _sample_items_in_category(rng, cats, w.item_cat, w.item_pop)
    items = np.where(source < 0.3, w.event_item[pos], items)
    random_items = 1 + np.searchsorted(np.cumsum(w.item_pop[1:]) / w.item_pop[1:].sum(),
                                       rng.random(n), side="right")
    items = np.where(source >= 0.8, np.minimum(random_items, c.num_items), items)

    hist_item, hist_len = _windows(w.event_item, w.user_start[users], pos, c.hist_len)
    hist_session = history_sessions(w, w.user_start[users], pos, c.hist_len)
    true_ctr = _sigmoid(click_logit(w, users, items, hist_item, hist_len))
    true_cvr = _sigmoid(conversion_logit(w, users, items))
    click = rng.random(n) < true_ctr
    conversion = click & (rng.random(n) < true_cvr)

    columns = {**_user_columns(w, users), **_item_columns(w, items),
               "price_bucket": w.item_price_bucket[items], "price": w.item_price[items],
               "hist_item_id": (hist_item, hist_len),
               "hist_cat_id": (w.item_cat[hist_item], hist_len),
               "hist_brand_id": (w.item_brand[hist_item], hist_len),
               "hist_session_id": (hist_session, hist_len),
               "click": click.astype(np.float32), "conversion": conversion.astype(np.float32),
               "true_ctr": true_ctr.astype(np.float32), "true_cvr": true_cvr.astype(np.float32)}
    time = w.event_time[pos] - 1
    test = time >= np.quantile(time, 0.9)
    return columns, test


def retrieval_examples(world):
    """Columns of the retrieval dataset and a boolean test mask (each user's last event)."""
    w, c = world, world.config
    n = len(w.event_user)
    index = np.arange(n)
    first = w.user_start[w.event_user]
    session = session_starts(w.event_user, w.event_time)
    short_item, short_len = _windows(w.event_item, session, index, c.short_len)
    long_item, long_len = _windows(w.event_item, first, session, c.long_len)
    hist_item, hist_len = _windows(w.event_item, first, index, c.hist_len)
    columns = {**_user_columns(w, w.event_user), **_item_columns(w, w.event_item)}
    for prefix, padded, lengths in (("short_", short_item, short_len),
                                    ("long_", long_item, long_len)):
        for name, table in (("item_id", None), ("cat_id", w.item_cat),
                            ("brand_id", w.item_brand), ("shop_id", w.item_shop)):
            values = padded if table is None else table[padded]
            columns[prefix + name] = (values, lengths)
    columns["hist_item_id"] = (hist_item, hist_len)
    last = np.ones(n, bool)
    last[:-1] = w.event_user[1:] != w.event_user[:-1]
    return columns, last


def ranking_schema(config, embedding_dim=16):
    c = config
    d = embedding_dim
    return Schema(_user_specs(c, d) + _item_specs(c, d) + [
        FeatureSpec("price_bucket", "sparse", vocab_size=c.num_price_buckets + 1,
                    embedding_dim=d, group="item"),
        FeatureSpec("price", "dense", dtype="float32", group="item"),
        FeatureSpec("hist_item_id", "sequence", max_len=c.hist_len, shared_with="item_id",
                    group="user"),
        FeatureSpec("hist_cat_id", "sequence", max_len=c.hist_len, shared_with="cat_id",
                    group="user"),
        FeatureSpec("hist_brand_id", "sequence", max_len=c.hist_len, shared_with="brand_id",
                    group="user"),
        FeatureSpec("hist_session_id", "sequence", max_len=c.hist_len,
                    vocab_size=c.hist_len + 1, embedding_dim=d, group="user"),
        FeatureSpec("click", "label", dtype="float32"),
        FeatureSpec("conversion", "label", dtype="float32"),
        FeatureSpec("true_ctr", "label", dtype="float32"),
        FeatureSpec("true_cvr", "label", dtype="float32"),
    ])


def retrieval_schema(config, embedding_dim=16):
    c = config
    specs = _user_specs(c, embedding_dim) + _item_specs(c, embedding_dim)
    for prefix, max_len in (("short_", c.short_len), ("long_", c.long_len)):
        for name in ("item_id", "cat_id", "brand_id", "shop_id"):
            specs.append(FeatureSpec(prefix + name, "sequence", max_len=max_len,
                                     shared_with=name, group="user"))
    specs.append(FeatureSpec("hist_item_id", "sequence", max_len=c.hist_len,
                             shared_with="item_id", group="user"))
    return Schema(specs)


def _user_specs(c, d):
    return [FeatureSpec("user_id", "sparse", vocab_size=c.num_users + 1, embedding_dim=d,
                        group="user"),
            FeatureSpec("age", "sparse", vocab_size=c.num_ages + 1, embedding_dim=d,
                        group="user"),
            FeatureSpec("gender", "sparse", vocab_size=3, embedding_dim=d, group="user"),
            FeatureSpec("city", "sparse", vocab_size=c.num_cities + 1, embedding_dim=d,
                        group="user")]


def _item_specs(c, d):
    return [FeatureSpec("item_id", "sparse", vocab_size=c.num_items + 1, embedding_dim=d,
                        group="item"),
            FeatureSpec("cat_id", "sparse", vocab_size=c.num_categories + 1, embedding_dim=d,
                        group="item"),
            FeatureSpec("brand_id", "sparse",
                        vocab_size=c.num_categories * c.brands_per_category + 1,
                        embedding_dim=d, group="item"),
            FeatureSpec("shop_id", "sparse", vocab_size=c.num_shops + 1, embedding_dim=d,
                        group="item")]


def item_catalog(world, counts=None):
    """CSV text of every item's side information and popularity, one row per item id."""
    w = world
    lines = ["item_id,cat_id,brand_id,shop_id,price_bucket,count"]
    counts = np.zeros(len(w.item_cat), np.int64) if counts is None else counts
    for i in range(1, len(w.item_cat)):
        lines.append(f"{i},{w.item_cat[i]},{w.item_brand[i]},{w.item_shop[i]},"
                     f"{w.item_price_bucket[i]},{counts[i]}")
    return "\n".join(lines) + "\n"


def take(columns, rows):
    """The given rows (a boolean mask or indices) of every column, sequence pairs included."""
    out = {}
    for name, value in columns.items():
        if isinstance(value, tuple):
            out[name] = tuple(v[rows] for v in value)
        else:
            out[name] = value[rows]
    return out


def write_world(out_dir, config, num_shards=4):
    """Writes ranking/ and retrieval/ (train and test TFRecords, schema.yaml, items.csv)."""
    from input.atomic import atomic_write_text  # local: keeps `import synthetic` light
    from input.writer import write_tfrecords

    world = generate_world(config)
    rng = np.random.default_rng([config.seed, 99])
    for family, (columns, test), schema in (
            ("ranking", ranking_examples(world), ranking_schema(config)),
            ("retrieval", retrieval_examples(world), retrieval_schema(config))):
        folder = os.path.join(out_dir, family)
        train_rows = np.flatnonzero(~test)
        train_rows = train_rows[rng.permutation(len(train_rows))]  # shards hold mixed users
        train = take(columns, train_rows)
        write_tfrecords(schema, train, folder, "train", num_shards)
        write_tfrecords(schema, take(columns, test), folder, "test", 1)
        counts = np.bincount(train["item_id"], minlength=config.num_items + 1)
        atomic_write_text(os.path.join(folder, "items.csv"), item_catalog(world, counts))
        schema.save(os.path.join(folder, "schema.yaml"))
    return world
