"""The item table: item records, their dense item indices, and the ``datasets`` schema."""

from __future__ import annotations

from dataclasses import dataclass

from datasets import Dataset, Features, List, Value

from .errors import DataFormatError

ITEM_FEATURES = Features(
    {
        "item_id": Value("string"),
        "title": Value("string"),
        "brand": Value("string"),
        "categories": List(Value("string")),
        "description": Value("string"),
    }
)


@dataclass(frozen=True)
class ItemRecord:
    """One catalogue item. Text fields are already cleaned (HTML-unescaped, whitespace collapsed).

    ``categories`` is the item's category path, root first (may be empty).
    """

    item_id: str
    title: str = ""
    brand: str = ""
    categories: tuple[str, ...] = ()
    description: str = ""


class ItemCatalogue:
    """Ordered item records; the position of a record is its item index ``0 .. len-1``.

    Loaders add records from an item file with :meth:`add` (a repeated id is an error naming both
    places) and translate interaction ids with :meth:`lookup` (an unknown id is an error naming the
    interaction's place). Without an item file they use :meth:`intern`, which appends a bare record
    for each new id, so the item order is the order of first appearance; :meth:`index_of` picks the
    one that applies (a catalogue read from an item file has an ``origin``).
    """

    def __init__(self, origin: str | None = None):
        # origin: where the records came from (the item file), quoted in unknown-id errors.
        self.origin = origin
        self._records: list[ItemRecord] = []
        self._index: dict[str, int] = {}
        self._sources: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._index

    @property
    def records(self) -> list[ItemRecord]:
        return self._records

    @property
    def item_ids(self) -> list[str]:
        return [record.item_id for record in self._records]

    def add(self, record: ItemRecord, source: str) -> int:
        """Append ``record`` and return its item index. ``source`` is e.g. ``"items.jsonl, line 4"``."""
        if record.item_id in self._index:
            raise DataFormatError(
                f"{source}: duplicate item id {record.item_id!r} "
                f"(already defined at {self._sources[record.item_id]})"
            )
        self._index[record.item_id] = len(self._records)
        self._sources[record.item_id] = source
        self._records.append(record)
        return len(self._records) - 1

    def lookup(self, item_id: str, source: str) -> int:
        """Item index of ``item_id``; an unknown id raises ``DataFormatError`` naming ``source``."""
        try:
            return self._index[item_id]
        except KeyError:
            origin = f" (not in {self.origin})" if self.origin else ""
            raise DataFormatError(f"{source}: unknown item id {item_id!r}{origin}") from None

    def index_of(self, item_id: str, source: str) -> int:
        """:meth:`lookup` for a catalogue read from an item file (``origin`` set), :meth:`intern` otherwise."""
        return self.lookup(item_id, source) if self.origin is not None else self.intern(item_id)

    def intern(self, item_id: str) -> int:
        """Item index of ``item_id``, appending a record without metadata if the id is new."""
        index = self._index.get(item_id)
        if index is None:
            index = self.add(ItemRecord(item_id), source="interactions")
        return index

    def subset(self, indices: list[int]) -> ItemCatalogue:
        """A new catalogue holding the records at ``indices``, in that order."""
        result = ItemCatalogue(self.origin)
        for index in indices:
            record = self._records[index]
            result.add(record, self._sources[record.item_id])
        return result

    def to_dataset(self) -> Dataset:
        """The item table as a ``datasets.Dataset`` with :data:`ITEM_FEATURES` columns."""
        records = self._records
        return Dataset.from_dict(
            {
                "item_id": [r.item_id for r in records],
                "title": [r.title for r in records],
                "brand": [r.brand for r in records],
                "categories": [list(r.categories) for r in records],
                "description": [r.description for r in records],
            },
            features=ITEM_FEATURES,
        )
