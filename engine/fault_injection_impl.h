// The RocksDB side of fault injection (engine/fault_injection.h). Internal to the engine.
#pragma once

#include <rocksdb/env.h>

#include "engine/fault_injection.h"

namespace kakehashi::detail {

// The Env to put in DBOptions::env so that every file RocksDB writes goes through `injector`.
// Owned by the injector; valid as long as it.
rocksdb::Env* fault_env(fault_injector& injector);

}  // namespace kakehashi::detail
