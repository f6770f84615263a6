"""The problems validation finds in a data directory, and the one message that lists them all.

Every problem names its file, column and rule, how many rows (or keys) break it, and up to
``MAX_EXAMPLES`` example rows (docs/data_contract.md, "Validation").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dsrip_lib.inputs.tables import show

DOC = "docs/data_contract.md"
MAX_EXAMPLES = 5
FILE = "(file)"  # the "column" of a problem with a whole file


@dataclass
class Problem:
    """One broken rule in one table: how many rows (or keys) break it and a few examples."""

    column: str
    rule: str
    count: int = 0
    detail: str = ""
    examples: list[str] = field(default_factory=list)

    def add(self, count: int, examples: list[str]) -> None:
        self.count += count
        self.examples.extend(examples[: MAX_EXAMPLES - len(self.examples)])

    def __str__(self) -> str:
        head = f"  - rule \"{self.rule}\"" if self.column == FILE else f"  - column {self.column}: rule \"{self.rule}\""
        if self.count:
            head += f": {self.count:,} row{'s' * (self.count != 1)}{self.detail}"
        return "\n".join([head + (", e.g." if self.examples and self.count else ""),
                          *(f"      {e}" for e in self.examples)])


class Problems:
    """Problems grouped by table location, in the order found."""

    def __init__(self) -> None:
        self.by_file: dict[str, dict[tuple[str, str], Problem]] = {}

    def add(self, file: str, column: str, rule: str, count: int = 0, examples: list[str] = (),
            detail: str = "") -> None:
        problems = self.by_file.setdefault(file, {})
        problems.setdefault((column, rule), Problem(column, rule, detail=detail)).add(count, list(examples))

    def __bool__(self) -> bool:
        return bool(self.by_file)

    def message(self, what: str, order: list[str] = ()) -> str:
        """All problems, one block per file, files in ``order`` (the contract's table order)."""
        rank = {label: i for i, label in enumerate(order)}
        files = sorted(self.by_file, key=lambda f: rank.get(f, len(rank)))
        n = sum(len(p) for p in self.by_file.values())
        lines = [f"{what} breaks the data contract ({DOC}): {n} problem{'s' * (n != 1)} "
                 f"in {len(self.by_file)} file{'s' * (len(self.by_file) != 1)}"]
        for file in files:
            lines.append(f"{file}:")
            lines.extend(str(p) for p in self.by_file[file].values())
        return "\n".join(lines)


def values_text(names, values) -> str:
    """``name=value, ...`` as an example line shows a row or a key."""
    return ", ".join(f"{k}={show(v)}" for k, v in zip(names, values))
