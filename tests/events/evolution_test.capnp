# Test-only: what a newer writer of two domain.capnp structs might look like. Same ordinals and
# types as today's structs (so the same layout), plus fields added at the next ordinals as
# events/SCHEMA.md rule 2 allows. The evolution test writes with these and reads with today's.
@0xada360b205896691;

$import "/capnp/c++.capnp".namespace("kakehashi::evolution_test");

enum Origin {
  municipalityRequest @0;
  talentDriven @1;
  referral @2;  # a value today's readers do not know
}

# events/domain.capnp NeedOpened, plus two fields.
struct NeedOpened {
  lgCode @0 :Text;
  origin @1 :Origin;
  department @2 :Text;
  problem @3 :Text;
  priority @4 :UInt16;
  tags @5 :List(Text);
}

# events/domain.capnp HearingRecorded (a type with a sealed field), plus two fields.
struct HearingRecorded {
  sealed @0 :Data;
  hearingId @1 :Text;
  heldOn @2 :Text;
  findings @3 :Text;
  room @4 :Text;
  durationMinutes @5 :UInt16;
}

# events/domain.capnp TalentPaused as schema_version 1 wrote it, before its reason became the
# talent's personal data; TalentResumed, TalentWithdrew and InterestDeclined had this layout too.
struct ReasonV1 {
  reason @0 :Text;
}

# events/domain.capnp IssueRaised as schema_version 1 wrote it, before its summary became the
# talent's personal data; IssueResolved (issueId, resolution) had this layout too.
struct IssueV1 {
  issueId @0 :Text;
  text @1 :Text;
}

# events/domain.capnp AppointmentEnded as schema_version 1 wrote it (the enum is a UInt16).
# AppointmentSuspended and AppointmentResumed had ReasonV1's layout.
struct EndedV1 {
  kind @0 :UInt16;
  reason @1 :Text;
}
