// The receipt log's storage in a PostgreSQL database, shared by serving
// replicas on any machines: one sequence, one tree (docs/scaling.md,
// "Serving replicas").
//
// Tables, in the connection's current schema: meta(key text PRIMARY KEY,
// value bytea NOT NULL), leaves(idx bigint PRIMARY KEY, data bytea NOT
// NULL), hashes(idx bigint PRIMARY KEY, hash bytea NOT NULL).
//
// The write lock is a row lock on meta's 'checkpoint' row (SELECT … FOR
// UPDATE), taken first by every write transaction; the transaction then
// reads the size in READ COMMITTED, where each statement sees everything
// committed before it began, so it extends exactly the log the previous
// holder left. A replica that dies mid-transaction loses its connection,
// and the server rolls the transaction back and releases the lock; one
// that hangs in a transaction is cut off after idle_in_transaction_session_
// timeout (30 s). Sessions run with synchronous_commit = on whatever the
// server's default, so a COMMIT returns once the server has flushed it.
//
// Each store uses two connections: one for write transactions, one for the
// committed-state reads (serialized). A lost connection is re-established
// when the next transaction begins or the next read starts.
#pragma once

#include <memory>
#include <string>

#include "serve/log_store.h"

namespace aftune {

// Connects to `uri` (postgresql://… or postgres://…) and opens the log in
// its current schema, creating the tables (with `genesis`) when the schema
// holds none; concurrent openers of a new database agree on one genesis.
// kIOError when the server cannot be reached or refuses; kCorruption for a
// schema holding other tables or the log's tables changed.
Result<std::unique_ptr<LogStore>> OpenPgLogStore(const std::string& uri, const LogGenesis& genesis);

}  // namespace aftune
