"""Small raw files in the published layouts of each dataset, with known content.

`make_log` draws an interaction log with sessions (gaps below and above 30 minutes), events
sharing a timestamp, and item effects on ratings; the writers put it into each layout and add
malformed lines, whose number they return.
"""
import csv
import json
import os

import numpy as np

GENRES = ["Action", "Comedy", "Drama", "Horror", "Sci-Fi"]


def make_log(num_users=30, num_items=40, events=(4, 14), seed=0, repeats=False,
             affinity=0.0):
    """Rows (user, item, rating, time, category), sorted by user then time. Without repeats a
    user interacts with an item at most once (MovieLens). With `affinity`, that share of the
    events after the first of a session stay in the previous event's category (a session
    signal that sequence models can use and popularity cannot)."""
    rng = np.random.default_rng(seed)
    quality = rng.normal(0, 1, num_items + 1)
    category = rng.integers(0, len(GENRES), num_items + 1)
    popularity = 1.0 / np.arange(1, num_items + 1) ** 0.7
    popularity /= popularity.sum()
    rows = []
    for user in range(1, num_users + 1):
        n = int(rng.integers(events[0], events[1] + 1))
        gaps = np.where(rng.random(n) < 0.3, rng.integers(2000, 90000, n),
                        rng.integers(0, 600, n))  # some 0: ties
        items = rng.choice(np.arange(1, num_items + 1), size=n, replace=repeats, p=popularity)
        if affinity:
            items = _session_items(rng, n, gaps, category, popularity, affinity, repeats)
        times = 900_000_000 + int(rng.integers(0, 10**6)) + np.cumsum(gaps)
        for item, t in zip(items.tolist(), times.tolist()):
            rating = int(np.clip(round(3 + 1.2 * quality[item] + rng.normal(0, 0.7)), 1, 5))
            rows.append((user, item, rating, t, GENRES[category[item]]))
    return rows


def _session_items(rng, n, gaps, category, popularity, affinity, repeats):
    items, used = [], np.zeros(len(popularity) + 1, bool)
    for k in range(n):
        p = np.concatenate([[0.0], popularity])
        if k and gaps[k] <= 1800 and rng.random() < affinity:
            p = p * (category == category[items[-1]])
        if not repeats:
            p = p * ~used
        if p.sum() == 0:
            p = np.concatenate([[0.0], popularity]) * (~used if not repeats else 1)
        item = int(rng.choice(len(p), p=p / p.sum()))
        used[item] = True
        items.append(item)
    return np.array(items)


def movie_genres(rows):
    out = {}
    for _, item, _, _, cat in rows:
        second = GENRES[(GENRES.index(cat) + 1 + item % 3) % len(GENRES)]
        out[item] = f"{cat}|{second}" if item % 2 else cat
    return out


def user_info(user):
    return {"gender": "MF"[user % 2], "age": [1, 18, 25, 35, 45, 50, 56][user % 7],
            "age_years": [12, 20, 30, 40, 47, 52, 60][user % 7], "occupation": user % 5,
            "zip": f"{(user * 7919) % 100000:05d}"}


def write_ml100k(folder, rows):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "u.data"), "w", encoding="latin-1") as f:
        for u, i, r, t, _ in rows:
            f.write(f"{u}\t{i}\t{r}\t{t}\n")
        f.write("17\tnot-a-number\n")  # too few fields
        f.write("17\t3\t4\tyesterday\n")  # bad timestamp
    genres = movie_genres(rows)
    names = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
             "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
             "Romance", "Sci-Fi", "Thriller", "War", "Western"]
    with open(os.path.join(folder, "u.item"), "w", encoding="latin-1") as f:
        for item, g in sorted(genres.items()):
            flags = ["1" if n in g.split("|") else "0" for n in names]
            f.write(f"{item}|Caf\xe9 {item} (1995)|01-Jan-1995||http://x|" + "|".join(flags)
                    + "\n")
    with open(os.path.join(folder, "u.user"), "w", encoding="latin-1") as f:
        for u in sorted({r[0] for r in rows}):
            info = user_info(u)
            f.write(f"{u}|{info['age_years']}|{info['gender']}|occ{info['occupation']}|"
                    f"{info['zip']}\n")
    return 2


def write_ml1m(folder, rows):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "ratings.dat"), "w", encoding="latin-1") as f:
        for u, i, r, t, _ in rows:
            f.write(f"{u}::{i}::{r}::{t}\n")
        f.write("garbage line\n")
        f.write("3::7::five::978300760\n")
    with open(os.path.join(folder, "movies.dat"), "w", encoding="latin-1") as f:
        for item, g in sorted(movie_genres(rows).items()):
            f.write(f"{item}::Am\xe9lie {item} (2001)::{g}\n")
    with open(os.path.join(folder, "users.dat"), "w", encoding="latin-1") as f:
        for u in sorted({r[0] for r in rows}):
            info = user_info(u)
            f.write(f"{u}::{info['gender']}::{info['age']}::{info['occupation']}::"
                    f"{info['zip']}\n")
    return 2


def write_ml_latest(folder, rows):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "ratings.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["userId", "movieId", "rating", "timestamp"])
        for u, i, r, t, _ in rows:
            w.writerow([u, i, r - 0.5 if i % 4 == 0 else r, t])
        w.writerow([5, 6])
    with open(os.path.join(folder, "movies.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["movieId", "title", "genres"])
        for item, g in sorted(movie_genres(rows).items()):
            w.writerow([item, f"Movie, with a comma {item} (2010)", g])
    return 1


def write_taobao(folder, rows):
    os.makedirs(folder, exist_ok=True)
    behaviors = ["pv", "pv", "pv", "cart", "fav", "buy"]
    with open(os.path.join(folder, "UserBehavior.csv"), "w", newline="") as f:
        for k, (u, i, _, t, cat) in enumerate(rows):
            f.write(f"{u},{i},{GENRES.index(cat) + 100},{behaviors[k % 6]},{t}\n")
        f.write("1,2,3,click,1511544070\n")  # unknown behaviour
        f.write("1,2,3\n")
    return 2


def write_amazon(folder, rows):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "reviews_Books_5.json"), "w") as f:
        for u, i, r, t, _ in rows:
            f.write(json.dumps({"reviewerID": f"A{u:05d}", "asin": f"B{i:04d}", "overall": r,
                                "unixReviewTime": t, "reviewText": "ok"}) + "\n")
        f.write("{not json\n")
        f.write(json.dumps({"reviewerID": "A1", "overall": 5}) + "\n")
    with open(os.path.join(folder, "meta_Books.json"), "w") as f:
        for item, cat in sorted({(r[1], r[4]) for r in rows}):
            if item % 2:  # the 2014 files are Python literals
                f.write(repr({"asin": f"B{item:04d}", "categories": [["Books", cat]]}) + "\n")
            else:
                f.write(json.dumps({"asin": f"B{item:04d}", "category": ["Books", cat]}) + "\n")
    return 2


def write_csv_log(folder, rows):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "log.csv"), "w", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["uid", "iid", "when", "liked", "shelf", "segment", "price"])
        for u, i, r, t, cat in rows:
            price = "" if i % 5 == 0 else f"{i * 1.5:.1f}"
            w.writerow([f"u{u}", f"i{i}", t, int(r >= 4), cat, f"s{u % 3}", price])
        w.writerow(["u1", "i1", "later", 1, "x", "s1", "1"])
        w.writerow(["u1", "i1", "5", 2, "x", "s1", "1"])  # label not 0/1
    with open(os.path.join(folder, "log.yaml"), "w") as f:
        f.write("file: log.csv\ndelimiter: ';'\nuser: uid\nitem: iid\ntime: when\n"
                "label: liked\nuser_features: [segment]\nitem_features: [shelf]\n"
                "item_dense: [price]\n")
    return 2
