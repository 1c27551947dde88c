"""How Pulse's own DDL names engines and clusters: one server as written, or a replicated cluster from a setting.

Every database and table Pulse creates itself (the `raw` tables and feeds, the extraction log, dbt's build marks)
goes through here. With no cluster (the default, and the embedded chdb server) each piece is exactly the text the
statement always had. With PULSE_CLICKHOUSE_CLUSTER set, a self-managed ClickHouse cluster needs two things that
a single server does not:

- `ON CLUSTER '<name>'` on CREATE, ALTER, EXCHANGE and DROP, so every replica has the same tables;
- the `Replicated` variant of each MergeTree engine: only those replicate their data (a plain MergeTree table
  created ON CLUSTER is a separate, unreplicated table on each server). The engine keeps its own arguments
  (`ReplacingMergeTree(_change_seq)` -> `ReplicatedReplacingMergeTree(_change_seq)`) and is given no Keeper path
  or replica name: when the first argument is not a string literal, ClickHouse fills in the server's
  `default_replica_path` (`/clickhouse/tables/{uuid}/{shard}`) and `default_replica_name` (`{replica}`), and
  `{uuid}` is the same on every replica of an ON CLUSTER create;
- `replicated_deduplication_window = 0`: a replicated table silently drops an inserted block identical to a
  recent one, which a plain MergeTree never does. Pulse's tables collapse repeated versions themselves
  (ReplacingMergeTree), and extract-load checks that the warehouse wrote every row it sent, so a batch sent
  again after a failure must be written, as on one server. (dbt-clickhouse sets the same for dbt's tables.)

dbt's models take the same decision from the same setting in dbt_project/macros/cluster.sql.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pulse.core.settings import Settings, get_settings

# The MergeTree family: the engines that have a Replicated variant.
_MERGE_TREE = re.compile(
    r"(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing|Graphite|Coalescing)?MergeTree\b"
)


@dataclass(frozen=True)
class WarehouseDDL:
    """DDL pieces for one server (`cluster=None`) or for every replica of a named cluster."""

    cluster: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> WarehouseDDL:
        return cls((settings or get_settings()).clickhouse_cluster)

    @property
    def on_cluster(self) -> str:
        """` ON CLUSTER '<name>'` (a string literal, so `{cluster}` macros work too), or nothing."""
        return f" ON CLUSTER '{self.cluster}'" if self.cluster else ""

    @property
    def table_settings(self) -> str:
        """` SETTINGS replicated_deduplication_window = 0` after a table's ORDER BY on a cluster, or nothing."""
        return " SETTINGS replicated_deduplication_window = 0" if self.cluster else ""

    def engine(self, engine: str) -> str:
        """`engine` as written for one server; its Replicated variant, same arguments, on a cluster."""
        if not self.cluster or engine.startswith("Replicated"):
            return engine
        if not _MERGE_TREE.fullmatch(engine.split("(", 1)[0].strip()):
            raise ValueError(f"{engine!r} is not a MergeTree-family engine: it has no Replicated variant")
        return "Replicated" + engine

    def create_database(self, name: str) -> str:
        return f"CREATE DATABASE IF NOT EXISTS {name}{self.on_cluster}"

    def drop_table(self, name: str, *, if_exists: bool = False) -> str:
        return f"DROP TABLE {'IF EXISTS ' if if_exists else ''}{name}{self.on_cluster}"

    def exchange_tables(self, first: str, second: str) -> str:
        return f"EXCHANGE TABLES {first} AND {second}{self.on_cluster}"

    def sync_replica(self, name: str) -> list[str]:
        """What to run before swapping a freshly filled table in: on a cluster, wait until every replica has
        fetched all its parts (else a replica would serve a partial table after the EXCHANGE); nothing on one
        server."""
        return [f"SYSTEM SYNC REPLICA{self.on_cluster} {name}"] if self.cluster else []

    def stop_merges(self, name: str) -> str:
        return f"SYSTEM STOP MERGES{self.on_cluster} {name}"

    def start_merges(self, name: str) -> str:
        return f"SYSTEM START MERGES{self.on_cluster} {name}"

    def alter_table(self, name: str, action: str) -> str:
        return f"ALTER TABLE {name}{self.on_cluster} {action}"
