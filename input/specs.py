"""Feature schema: one description of every feature, used to write, parse and embed.

A schema lives as `schema.yaml` beside the TFRecords it describes. Id features (sparse and
sequence) take values in [0, vocab_size); 0 is the padding/out-of-vocabulary row. Features
with `hash_buckets` are stored as strings and hashed into [1, hash_buckets) when parsed.
Sequences are stored oldest first; the reader pads/truncates them to `max_len`, keeping the
most recent items, and adds an int32 `<name>_len` feature.
"""
import dataclasses
import os

import yaml

from input.atomic import atomic_write_text

KINDS = ("sparse", "dense", "sequence", "label", "weight")
DTYPES = ("int64", "float32", "string")
GROUPS = ("", "user", "item", "context")
NONFINITE = ("reject", "zero")


class SchemaError(ValueError):
    """A schema that is malformed or does not fit the data."""


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """One feature.

    kind: "sparse" (one id), "dense" (`dim` floats), "sequence" (ids, padded to `max_len`),
      "label" (a float or int target) or "weight" (a per-example float weight).
    vocab_size / hash_buckets: id range of sparse/sequence features (one of the two).
    shared_with: name of the feature that owns the embedding table (a sequence of item ids
      shares the `item_id` table); vocab size and embedding dim then come from that feature.
    group: "user", "item" or "context"; lets two-tower style models split features.
    nonfinite: float features (dense, label, weight): what the reader does with NaN or Inf
      values: "reject" (stop with an error naming the feature) or "zero" (replace them by 0);
      either way they are counted.
    """
    name: str
    kind: str
    vocab_size: int = 0
    hash_buckets: int = 0
    embedding_dim: int = 16
    max_len: int = 0
    shared_with: str = ""
    dtype: str = "int64"
    dim: int = 1
    group: str = ""
    nonfinite: str = "reject"

    def __post_init__(self):
        where = f"feature {self.name!r}"
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise SchemaError(f"{where}: names are letters, digits, '_' and '-'")
        if self.kind not in KINDS:
            raise SchemaError(f"{where}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.dtype not in DTYPES:
            raise SchemaError(f"{where}: dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.nonfinite not in NONFINITE:
            raise SchemaError(f"{where}: nonfinite must be one of {NONFINITE}, got "
                              f"{self.nonfinite!r}")
        if self.group not in GROUPS:
            raise SchemaError(f"{where}: group must be one of {GROUPS}, got {self.group!r}")
        for key in ("vocab_size", "hash_buckets", "embedding_dim", "max_len", "dim"):
            if getattr(self, key) < 0:
                raise SchemaError(f"{where}: {key} must be >= 0, got {getattr(self, key)}")
        if self.kind in ("sparse", "sequence"):
            self._check_ids(where)
        elif self.kind in ("dense", "weight"):
            if self.dtype != "float32":
                raise SchemaError(f"{where}: {self.kind} features are float32, got {self.dtype}")
            if self.dim < 1:
                raise SchemaError(f"{where}: dim must be >= 1")
        elif self.kind == "label" and self.dtype == "string":
            raise SchemaError(f"{where}: labels are int64 or float32, not strings")
        if self.kind == "sequence" and self.max_len < 1:
            raise SchemaError(f"{where}: a sequence needs max_len >= 1")
        if self.kind != "sequence" and self.max_len:
            raise SchemaError(f"{where}: max_len applies to sequences only")

    def _check_ids(self, where):
        if self.dtype == "float32":
            raise SchemaError(f"{where}: ids are int64 or string, not float32")
        if self.shared_with:
            if self.vocab_size or self.hash_buckets:
                raise SchemaError(f"{where}: a shared feature takes its vocabulary from "
                                  f"{self.shared_with!r}; do not set vocab_size/hash_buckets")
            return
        if (self.vocab_size > 0) == (self.hash_buckets > 0):
            raise SchemaError(f"{where}: set exactly one of vocab_size and hash_buckets")
        if self.hash_buckets and self.dtype != "string":
            raise SchemaError(f"{where}: hash_buckets needs dtype 'string'")
        if self.vocab_size and self.dtype != "int64":
            raise SchemaError(f"{where}: vocab_size needs dtype 'int64' (use hash_buckets "
                              "for strings)")
        if max(self.vocab_size, self.hash_buckets) < 2:
            raise SchemaError(f"{where}: the id range needs at least 2 rows (0 is padding/OOV)")
        if self.embedding_dim < 1:
            raise SchemaError(f"{where}: embedding_dim must be >= 1")

    @property
    def table(self):
        """Name of the embedding table this feature looks up."""
        return self.shared_with or self.name

    def to_dict(self):
        """The fields that differ from their defaults (name and kind always)."""
        out = {"name": self.name, "kind": self.kind}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name not in out and value != field.default:
                out[field.name] = value
        return out


class Schema:
    """An ordered, validated collection of FeatureSpecs."""

    def __init__(self, features):
        self.features = tuple(features)
        self._by_name = {}
        for spec in self.features:
            if not isinstance(spec, FeatureSpec):
                raise SchemaError(f"expected FeatureSpec, got {spec!r}")
            if spec.name in self._by_name:
                raise SchemaError(f"feature {spec.name!r} appears twice")
            self._by_name[spec.name] = spec
        for spec in self.features:
            if spec.kind == "sequence" and f"{spec.name}_len" in self._by_name:
                raise SchemaError(f"feature {spec.name}_len clashes with the length the reader "
                                  f"adds for sequence {spec.name!r}")
            if spec.shared_with:
                owner = self._by_name.get(spec.shared_with)
                if owner is None or owner.kind not in ("sparse", "sequence") or owner.shared_with:
                    raise SchemaError(f"feature {spec.name!r}: shared_with={spec.shared_with!r} "
                                      "must name a sparse or sequence feature that owns a table")
                if owner.dtype != spec.dtype:
                    raise SchemaError(f"feature {spec.name!r}: dtype {spec.dtype} differs from "
                                      f"its table owner {owner.name!r} ({owner.dtype})")

    def __getitem__(self, name):
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"feature {name!r} is not in the schema; it has "
                           f"{sorted(self._by_name)}") from None

    def __contains__(self, name):
        return name in self._by_name

    def __iter__(self):
        return iter(self.features)

    def __eq__(self, other):
        return isinstance(other, Schema) and self.features == other.features

    def __repr__(self):
        return f"Schema({[s.name for s in self.features]})"

    @property
    def names(self):
        return [s.name for s in self.features]

    def of_kind(self, *kinds):
        return [s for s in self.features if s.kind in kinds]

    def of_group(self, group, kinds=("sparse", "dense", "sequence")):
        return [s for s in self.features if s.group == group and s.kind in kinds]

    def vocab_size(self, name):
        """Rows of the embedding table that `name` looks up (0 is padding/OOV)."""
        owner = self[self[name].table]
        return owner.vocab_size or owner.hash_buckets

    def embedding_dim(self, name):
        return self[self[name].table].embedding_dim

    def to_dict(self):
        return {"features": [s.to_dict() for s in self.features]}

    @classmethod
    def from_dict(cls, data, source="schema"):
        if not isinstance(data, dict) or not isinstance(data.get("features"), list):
            raise SchemaError(f"{source}: expected a mapping with a 'features' list")
        unknown = set(data) - {"features"}
        if unknown:
            raise SchemaError(f"{source}: unknown top-level keys {sorted(unknown)}")
        fields = {f.name for f in dataclasses.fields(FeatureSpec)}
        specs = []
        for i, item in enumerate(data["features"]):
            if not isinstance(item, dict):
                raise SchemaError(f"{source}: features[{i}] is not a mapping")
            bad = set(item) - fields
            if bad:
                raise SchemaError(f"{source}: feature {item.get('name', i)!r} has unknown keys "
                                  f"{sorted(bad)}; allowed: {sorted(fields)}")
            try:
                specs.append(FeatureSpec(**item))
            except TypeError as e:
                raise SchemaError(f"{source}: features[{i}]: {e}") from None
            except SchemaError as e:
                raise SchemaError(f"{source}: {e}") from None
        try:
            return cls(specs)
        except SchemaError as e:
            raise SchemaError(f"{source}: {e}") from None

    def save(self, path):
        """Writes the schema as YAML, atomically (temporary file, then rename)."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)
        atomic_write_text(path, text)

    @classmethod
    def load(cls, path):
        if os.path.isdir(path):
            path = os.path.join(path, "schema.yaml")
        if not os.path.exists(path):
            raise FileNotFoundError(f"no schema at {path}")
        with open(path, encoding="utf-8") as f:
            try:
                data = yaml.safe_load(f)
            except yaml.YAMLError as e:
                raise SchemaError(f"{path}: not valid YAML: {e}") from None
        return cls.from_dict(data, source=path)
