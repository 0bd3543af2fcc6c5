// The receipt log's storage in one SQLite file, the embedded default: WAL
// mode with synchronous=FULL, so a COMMIT returns after its fsync. One
// server owns the file at a time: the store holds the file's DbLock
// (serve/db_lock.h) for its lifetime, so a second store on the same file,
// in this process or another, is refused. BEGIN IMMEDIATE is the write lock.
//
// Columns: meta(key TEXT PRIMARY KEY, value BLOB NOT NULL),
// leaves(idx INTEGER PRIMARY KEY, data BLOB NOT NULL),
// hashes(idx INTEGER PRIMARY KEY, hash BLOB NOT NULL).
#pragma once

#include <memory>
#include <string>

#include "serve/log_store.h"

namespace aftune {

// Opens the log database at `path`, creating the file and the tables (with
// `genesis`) when it holds none. kIOError when another store holds the
// file or SQLite fails; kCorruption for a file holding other tables or the
// log's tables changed (log_store.h, CheckLogSchema).
Result<std::unique_ptr<LogStore>> OpenSqliteLogStore(const std::string& path, const LogGenesis& genesis);

}  // namespace aftune
