"""MovieLens (GroupLens) ratings -> ranking (click = rating >= 4) and retrieval data.

Layouts read:
- movielens-100k: u.data `user \\t item \\t rating \\t time`, u.user `id|age|gender|occupation|zip`,
  u.item `id|title|date|video_date|url|19 genre flags` (latin-1).
- movielens-1m: ratings.dat `user::movie::rating::time`, users.dat
  `user::gender::age::occupation::zip`, movies.dat `movie::title::genres` (latin-1); or one CSV
  with a header joining them (`user_id,movie_id,rating,timestamp,title,genres,gender,age,
  occupation,zip`, the layout of DeepCTR's movielens_sample.txt).
- movielens-latest: ratings.csv `userId,movieId,rating,timestamp` and movies.csv
  `movieId,title,genres` with headers (no user side information).
Features: user side (gender, age, occupation, zip prefix) where the release has them; item
`cat_id` (the first genre) and `genres` (all of them, a sequence).
"""
import csv
import os

import numpy as np

from input.converters import common

ML100K_GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy",
                 "Crime", "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical",
                 "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]
LIKED = 4.0  # ratings at or above count as a click


def _lines(path, split, fields, malformed, encoding="latin-1", header=False, log=print):
    """(line number, fields) of a delimited file, checked for the field count (a generator:
    rows are never all held)."""
    what = os.path.basename(path)
    progress = common.Progress(what, log)
    count = 0
    with common.open_text(path, encoding) as f:
        reader = csv.reader(f) if split == "csv" else None
        for number, line in enumerate(reader if reader else f, start=1):
            if header and number == 1:
                continue
            parts = line if reader else line.rstrip("\r\n").split(split)
            if parts == [] or parts == [""]:
                continue
            if len(parts) < fields:
                malformed.add(f"{what}:{number}", f"expected {fields} fields, got "
                              f"{len(parts)}")
                continue
            count += 1
            progress.tick(count)
            yield number, parts
    progress.done(count)


def _side_rows(path, split, fields, malformed, log, encoding="latin-1", header=False):
    """Every row of a small side file (users, movies)."""
    return [parts for _, parts in _lines(path, split, fields, malformed, encoding, header,
                                         log)]


def _rating_chunks(path, split, fields, columns, malformed, log, encoding="latin-1",
                   header=False):
    """Chunks of (users, items, ratings, times, rows) from a ratings file; malformed rows are
    counted (with their line numbers) and skipped."""
    what = os.path.basename(path)
    u, i, r, t = columns
    chunk = common.Columns.CHUNK
    users, items, ratings, times, kept = [], [], [], [], []
    for number, row in _lines(path, split, fields, malformed, encoding, header, log):
        try:
            rating = float(row[r])
            stamp = common.to_int(row[t])
            if not row[u].strip() or not row[i].strip():
                raise ValueError("empty user or item")
        except ValueError as e:
            malformed.add(f"{what}:{number}", str(e))
            continue
        users.append(row[u].strip())
        items.append(row[i].strip())
        ratings.append(rating)
        times.append(stamp)
        kept.append(row)
        if len(users) == chunk:
            yield _arrays(users, items, ratings, times), kept
            users, items, ratings, times, kept = [], [], [], [], []
    yield _arrays(users, items, ratings, times), kept


def _arrays(users, items, ratings, times):
    return (np.array(users, dtype=str), np.array(items, dtype=str),
            np.array(ratings, np.float32), np.array(times, np.int64))


def _lookup(keys, table, default=""):
    return np.array([table.get(k, default) for k in keys.tolist()], dtype=str)


def _events(users, items, ratings, times, user_info, item_genres):
    """Events with click = rating >= 4; user_info: name -> {user: value}."""
    genres = _lookup(items, item_genres)
    first = np.array([g.split("|")[0] for g in genres.tolist()], dtype=str)
    return common.Events(
        user=users, item=items, time=times, label=(ratings >= LIKED).astype(np.float32),
        user_features={name: _lookup(users, values) for name, values in user_info.items()},
        item_features={"cat_id": first}, item_multi={"genres": genres})


def _stream(chunks, user_info, genres, malformed, side_malformed):
    """Events per ratings chunk; the side files' problems (read first) are reported after the
    ratings', as when the ratings were read first."""
    for (users, items, ratings, times), _ in chunks:
        yield _events(users, items, ratings, times, user_info, genres)
    malformed.extend(side_malformed)


def _zip_prefix(text):
    return text.strip()[:2]


def read_100k(raw_dir, malformed, log=print):
    path = common.find_file(raw_dir, ["u.data"], "movielens-100k")
    folder = os.path.dirname(path)
    side = common.Malformed(keep=malformed.keep)
    user_info = {"age": {}, "gender": {}, "occupation": {}, "zip": {}}
    user_path = os.path.join(folder, "u.user")
    if os.path.exists(user_path):
        for row in _side_rows(user_path, "|", 5, side, log):
            uid = row[0].strip()
            user_info["age"][uid] = _age_bucket(row[1])
            user_info["gender"][uid] = row[2]
            user_info["occupation"][uid] = row[3]
            user_info["zip"][uid] = _zip_prefix(row[4])
    genres = {}
    item_path = os.path.join(folder, "u.item")
    if os.path.exists(item_path):
        for row in _side_rows(item_path, "|", 24, side, log):
            flags = row[5:24]
            genres[row[0].strip()] = "|".join(g for g, f in zip(ML100K_GENRES, flags)
                                              if f.strip() == "1")
    chunks = _rating_chunks(path, "\t", 4, (0, 1, 2, 3), malformed, log)
    return _stream(chunks, user_info, genres, malformed, side)


def _age_bucket(text):
    """ML-100K ages are years; bucket them like ML-1M (1, 18, 25, 35, 45, 50, 56)."""
    try:
        age = int(text)
    except ValueError:
        return ""
    edges = [18, 25, 35, 45, 50, 56]
    return str([1, 18, 25, 35, 45, 50, 56][int(np.searchsorted(edges, age, side="right"))])


def read_1m(raw_dir, malformed, log=print):
    if os.path.isdir(raw_dir) and os.path.exists(os.path.join(raw_dir, "ratings.dat")):
        return _read_1m_dat(raw_dir, malformed, log)
    path = common.find_file(raw_dir, ["ratings.dat", "movielens_sample.txt", "ratings.csv"],
                            "movielens-1m")
    if os.path.basename(path).startswith("ratings.dat"):
        return _read_1m_dat(os.path.dirname(path), malformed, log)
    return _read_joined_csv(path, malformed, log)


def _read_1m_dat(folder, malformed, log):
    path = common.find_file(folder, ["ratings.dat"], "movielens-1m")
    side = common.Malformed(keep=malformed.keep)
    user_info = {"gender": {}, "age": {}, "occupation": {}, "zip": {}}
    user_path = os.path.join(folder, "users.dat")
    if os.path.exists(user_path):
        for row in _side_rows(user_path, "::", 5, side, log):
            uid = row[0].strip()
            user_info["gender"][uid], user_info["age"][uid] = row[1], row[2]
            user_info["occupation"][uid], user_info["zip"][uid] = row[3], _zip_prefix(row[4])
    genres = {}
    movie_path = os.path.join(folder, "movies.dat")
    if os.path.exists(movie_path):
        for row in _side_rows(movie_path, "::", 3, side, log):
            genres[row[0].strip()] = row[-1].strip()
    chunks = _rating_chunks(path, "::", 4, (0, 1, 2, 3), malformed, log)
    return _stream(chunks, user_info, genres, malformed, side)


def _read_joined_csv(path, malformed, log):
    """One CSV with a header naming user_id, movie_id, rating, timestamp (and optionally
    genres, gender, age, occupation, zip). Side values come from each row (a user's or
    movie's first row gives its features; the joined file repeats the same values)."""
    with common.open_text(path, "latin-1") as f:
        header = next(csv.reader(f), [])
    need = ["user_id", "movie_id", "rating", "timestamp"]
    missing = [c for c in need if c not in header]
    if missing:
        raise common.ConversionError(f"{path}: the header lacks {missing}; expected the "
                                     f"joined MovieLens layout {need + ['genres', '...']}")
    col = {name: header.index(name) for name in header}
    chunks = _rating_chunks(path, "csv", len(header), [col[c] for c in need], malformed, log,
                            header=True)
    return _joined_events(chunks, col)


def _joined_events(chunks, col):
    for (users, items, ratings, times), kept in chunks:
        user_features = {}
        for name in ("gender", "age", "occupation", "zip"):
            if name in col:
                fix = _zip_prefix if name == "zip" else str.strip
                user_features[name] = np.array([fix(r[col[name]]) for r in kept], dtype=str)
        genres = np.array([r[col["genres"]].strip() if "genres" in col else ""
                           for r in kept], dtype=str)
        first = np.array([g.split("|")[0] for g in genres.tolist()], dtype=str)
        yield common.Events(
            user=users, item=items, time=times, label=(ratings >= LIKED).astype(np.float32),
            user_features=user_features, item_features={"cat_id": first},
            item_multi={"genres": genres})


def read_latest(raw_dir, malformed, log=print):
    path = common.find_file(raw_dir, ["ratings.csv"], "movielens-latest")
    side = common.Malformed(keep=malformed.keep)
    genres = {}
    movie_path = os.path.join(os.path.dirname(path), "movies.csv")
    if os.path.exists(movie_path):
        for row in _side_rows(movie_path, "csv", 3, side, log, encoding="utf-8",
                              header=True):
            value = row[-1].strip()
            genres[row[0].strip()] = "" if value == "(no genres listed)" else value
    chunks = _rating_chunks(path, "csv", 4, (0, 1, 2, 3), malformed, log, encoding="utf-8",
                            header=True)
    return _stream(chunks, {}, genres, malformed, side)


READERS = {"movielens-100k": read_100k, "movielens-1m": read_1m,
           "movielens-latest": read_latest}
