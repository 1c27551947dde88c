-- Ledger of customer accounts; balance = sum(amount). Append-only.
-- Latest live version of each key: stg_account_entries_versions (where raw.account_entries is renamed) read FINAL -
-- the `final` setting puts FINAL on the raw table under it, keeping the highest _change_seq - with tombstones
-- dropped.
select * except (_is_deleted)
from {{ ref('stg_account_entries_versions') }}
where _is_deleted = 0
settings final = 1
