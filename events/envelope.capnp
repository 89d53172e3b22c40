# The stored form of every event: the envelope the store fills in around an opaque payload.
# Evolution rules (see SCHEMA.md): never renumber or retype a field, only add new ones.
@0xa39c949a278a5f17;

$import "/capnp/c++.capnp".namespace("kakehashi::schema");

struct Actor {
  id @0 :Text;
  role @1 :Text;
  onBehalfOf @2 :Text;
}

struct EventRecord {
  eventId @0 :Data;          # 16-byte UUID
  stream @1 :Text;
  version @2 :UInt64;        # 0-based position within the stream
  position @3 :UInt64;       # 1-based, gap-free position in the global log
  type @4 :Text;
  schemaVersion @5 :UInt16;  # version of the payload's schema, for upcasting
  occurredAt @6 :Int64;      # business time, microseconds since the Unix epoch (UTC)
  recordedAt @7 :Int64;      # server time of the append, microseconds since the Unix epoch
  actor @8 :Actor;
  correlationId @9 :Data;    # 16-byte UUID or empty
  causationId @10 :Data;     # 16-byte UUID or empty
  prevHash @11 :Data;        # hash of the record at position - 1 (zeros for position 1)
  hash @12 :Data;            # BLAKE2b-256(prevHash || this record's bytes with hash zeroed)
  payload @13 :Data;         # the event body; personal fields already encrypted by the caller
}
